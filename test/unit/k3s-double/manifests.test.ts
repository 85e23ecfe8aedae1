import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { Controllers } from "../../fixtures/k3s-double/src/controllers.js";
import { FileKV } from "../../fixtures/k3s-double/src/kv.js";
import { pluralize } from "../../fixtures/k3s-double/src/manifests-kinds.js";
import { isManifestFile, Manifests, mergeNodeHosts, parseManifest } from "../../fixtures/k3s-double/src/manifests.js";
import { Objects } from "../../fixtures/k3s-double/src/objects.js";
import { parseObjectPath } from "../../fixtures/k3s-double/src/paths.js";
import { ApiError } from "../../fixtures/k3s-double/src/respond.js";

type Obj = { kind: string; apiVersion: string; metadata: Record<string, unknown>; data?: Record<string, string>; items?: Obj[] };

/** A GET through the object store, by API path, as the API routes resolve it. */
async function lookup(objects: Objects, path: string): Promise<{ status: number; body: unknown }> {
  const p = parseObjectPath(path);
  if (!p) throw new Error(`not an object path: ${path}`);
  try {
    const res = await objects.resource(p.group, p.version, p.plural);
    if (!res) return { status: 404, body: undefined };
    const body =
      p.name === undefined
        ? await objects.list(res, p.version, p.namespace)
        : await objects.get(res, p.version, p.namespace, p.name);
    return { status: 200, body };
  } catch (e) {
    if (e instanceof ApiError) return { status: e.code, body: { message: e.message, reason: e.reason, details: e.details } };
    throw e;
  }
}

describe("manifest parsing", () => {
  it("reads multi-document YAML, skipping empty documents and flattening Lists", () => {
    const objs = parseManifest(
      "a.yaml",
      `---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: x}
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: s}
- apiVersion: apps/v1
  kind: DeploymentList
  items:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}
`,
    );
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["ConfigMap/a", "Secret/s", "Deployment/d"]);
  });

  it("reads JSON", () => {
    const objs = parseManifest("b.json", JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "j" } }));
    expect(objs[0]?.metadata.name).toBe("j");
  });

  it("rejects broken YAML and objects without a name", () => {
    expect(() => parseManifest("a.yaml", "a: [")).toThrow();
    expect(() => parseManifest("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")).toThrow(/metadata.name/);
  });

  it("applies k3s' file name rules", () => {
    const skips = new Set(["b.yaml"]);
    expect(isManifestFile("a.yaml", skips)).toBe(true);
    expect(isManifestFile("a.YML", skips)).toBe(true);
    expect(isManifestFile("a.json", skips)).toBe(true);
    expect(isManifestFile("b.yaml", skips)).toBe(false);
    expect(isManifestFile(".hidden.yaml", skips)).toBe(false);
    expect(isManifestFile("a.txt", skips)).toBe(false);
    expect(isManifestFile("a.yaml.skip", skips)).toBe(false);
  });
});

describe("pluralisation and paths", () => {
  it.each([
    ["ConfigMap", "configmaps"],
    ["Ingress", "ingresses"],
    ["NetworkPolicy", "networkpolicies"],
    ["Gateway", "gateways"],
    ["Endpoints", "endpoints"],
    ["StorageClass", "storageclasses"],
    ["HelmChart", "helmcharts"],
  ])("%s → %s", (kind, plural) => expect(pluralize(kind)).toBe(plural));

  it("parses object paths", () => {
    expect(parseObjectPath("/api/v1/namespaces/kube-public/configmaps/x?pretty=1")).toEqual({
      group: "",
      version: "v1",
      namespace: "kube-public",
      plural: "configmaps",
      name: "x",
    });
    expect(parseObjectPath("/apis/apps/v1/namespaces/a/deployments")).toEqual({
      group: "apps",
      version: "v1",
      namespace: "a",
      plural: "deployments",
    });
    expect(parseObjectPath("/apis/storage.k8s.io/v1/storageclasses/local-path")).toEqual({
      group: "storage.k8s.io",
      version: "v1",
      plural: "storageclasses",
      name: "local-path",
    });
    expect(parseObjectPath("/api/v1/namespaces/a/pods/p/status")).toEqual({
      group: "",
      version: "v1",
      namespace: "a",
      plural: "pods",
      name: "p",
      subresource: "status",
    });
    expect(parseObjectPath("/api/v1/namespaces/a/status")).toEqual({
      group: "",
      version: "v1",
      plural: "namespaces",
      name: "a",
      subresource: "status",
    });
    expect(parseObjectPath("/api/v1/namespaces/a/pods/p/log/x")).toBeUndefined();
    expect(parseObjectPath("/version")).toBeUndefined();
    expect(parseObjectPath("/apis")).toBeUndefined();
  });
});

describe("NodeHosts merge", () => {
  it("merges manifest lines with node entries, sorted by IP", () => {
    const merged = mergeNodeHosts("172.18.0.1 host.k3box.internal\n", [
      { ip: "172.18.0.10", name: "server-1" },
      { ip: "172.18.0.2", name: "server-0" },
    ]);
    expect(merged).toBe("172.18.0.1 host.k3box.internal\n172.18.0.2 server-0\n172.18.0.10 server-1\n");
  });

  it("lets a node entry replace a stale line for the same node", () => {
    expect(mergeNodeHosts("10.0.0.9 server-0\n", [{ ip: "10.0.0.3", name: "server-0" }])).toBe("10.0.0.3 server-0\n");
  });

  it("is empty with nothing to merge", () => {
    expect(mergeNodeHosts("", [])).toBe("");
  });
});

describe("Manifests", () => {
  let dir = "";
  let manifests = "";
  beforeEach(() => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    dir = mkdtempSync(join(tmpdir(), "k3s-double-store-"));
    manifests = join(dir, "server", "manifests");
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const logged = (): string =>
    vi
      .mocked(process.stderr.write)
      .mock.calls.map((c) => String(c[0]))
      .join("");
  /** A server's store over its own datastore file, with controllers that act at once. */
  const open = (): { objects: Objects; m: Manifests; controllers: Controllers } => {
    const objects = new Objects(new FileKV(join(dir, "server", "db", "double-kv.json"), false));
    const knobs = {
      workloadDelayMs: 0,
      holdWorkloads: false,
      serviceAccountDelayMs: 0,
      namespaceDeleteDelayMs: 0,
      crdDelayMs: 0,
    };
    return {
      objects,
      m: new Manifests(dir, objects),
      controllers: new Controllers(objects, { nodeName: "n", serverCA: "CA", knobs }),
    };
  };
  const get = async (objects: Objects, path: string): Promise<Obj> => {
    const r = await lookup(objects, path);
    expect(r.status, path).toBe(200);
    return r.body as Obj;
  };

  it("stages coredns.yaml (0600 in 0700) with the NodeHosts block and a NodeHosts key, and the other bundled add-ons", () => {
    const { m } = open();
    m.stageBundled(new Set());
    const file = join(manifests, "coredns.yaml");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(manifests).mode & 0o777).toBe(0o700);
    expect(logged()).toContain(`msg="Writing manifest: ${file}"`);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/hosts \/etc\/coredns\/NodeHosts \{\n\s+ttl 60\n\s+reload 15s\n\s+fallthrough\n\s+\}/);
    const docs = text.split(/^---$/m).map((d) => parse(d) as Obj);
    const cm = docs.find((d) => d.kind === "ConfigMap");
    expect(cm?.data?.NodeHosts).toBe("");
    for (const f of ["local-storage.yaml", "traefik.yaml", "metrics-server/metrics-server-deployment.yaml"])
      expect(existsSync(join(manifests, f)), f).toBe(true);
    expect(statSync(join(manifests, "metrics-server")).mode & 0o777).toBe(0o700);
  });

  it("--disable deletes X.yaml and X/", () => {
    mkdirSync(join(manifests, "metrics-server"), { recursive: true });
    writeFileSync(join(manifests, "metrics-server", "a.yaml"), "");
    writeFileSync(join(manifests, "traefik.yaml"), "");
    const { m } = open();
    m.stageBundled(new Set(["coredns", "metrics-server", "traefik"]));
    expect(existsSync(join(manifests, "coredns.yaml"))).toBe(false);
    expect(existsSync(join(manifests, "metrics-server"))).toBe(false);
    expect(existsSync(join(manifests, "traefik.yaml"))).toBe(false);
    expect(existsSync(join(manifests, "local-storage.yaml"))).toBe(true);
  });

  it("stores objects with server fields and k3s' owner annotations, serves get, list and 404", async () => {
    const { objects, m } = open();
    m.stageBundled(new Set());
    writeFileSync(
      join(manifests, "registry.yaml"),
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:5000"
`,
    );
    expect(await m.scan()).toBe(true);
    const cm = await get(objects, "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting");
    expect(cm.data?.["localRegistryHosting.v1"]).toBe('host: "localhost:5000"\n');
    expect(cm.metadata.namespace).toBe("kube-public");
    expect(cm.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(cm.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(cm.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(cm.metadata.annotations).toMatchObject({
      "objectset.rio.cattle.io/owner-name": "registry",
      "objectset.rio.cattle.io/owner-namespace": "kube-system",
    });

    const list = await get(objects, "/api/v1/namespaces/kube-public/configmaps");
    expect(list.kind).toBe("ConfigMapList");
    expect(list.items?.map((i) => i.metadata.name)).toEqual(["local-registry-hosting"]);

    const dns = (await get(objects, "/api/v1/namespaces/kube-system/services/kube-dns")) as unknown as {
      spec: { clusterIP: string };
    };
    expect(dns.spec.clusterIP).toBe("10.43.0.10");
    for (const d of ["coredns", "local-path-provisioner", "metrics-server"]) {
      expect((await get(objects, `/apis/apps/v1/namespaces/kube-system/deployments/${d}`)).kind).toBe("Deployment");
    }
    expect((await get(objects, "/apis/storage.k8s.io/v1/storageclasses/local-path")).kind).toBe("StorageClass");
    expect((await get(objects, "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/traefik")).kind).toBe("HelmChart");
    expect((await get(objects, "/api/v1/namespaces/kube-public")).kind).toBe("Namespace");

    expect(await lookup(objects, "/api/v1/namespaces/kube-public/configmaps/nope")).toEqual({
      status: 404,
      body: { message: 'configmaps "nope" not found', reason: "NotFound", details: { name: "nope", kind: "configmaps" } },
    });
    const missingDeploy = await lookup(objects, "/apis/apps/v1/namespaces/x/deployments/nope");
    expect((missingDeploy.body as { message: string }).message).toBe('deployments.apps "nope" not found');
    expect((await lookup(objects, "/apis/example.com/v1/namespaces/a/widgets/w")).status).toBe(404);
  });

  it("replaces a changed file's objects, removes a deleted file's, and keeps a .skip'd file's", async () => {
    const { objects, m } = open();
    mkdirSync(manifests, { recursive: true });
    const f = join(manifests, "app.yaml");
    const cm = (name: string, v: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${v}"}\n---\n`;
    writeFileSync(f, cm("one", "1") + cm("two", "2"));
    await m.scan();
    const one = await get(objects, "/api/v1/namespaces/default/configmaps/one");
    writeFileSync(f, cm("one", "1b"));
    await m.scan();
    const oneB = await get(objects, "/api/v1/namespaces/default/configmaps/one");
    expect(oneB.data?.v).toBe("1b");
    expect(oneB.metadata.uid).toBe(one.metadata.uid);
    expect(Number(oneB.metadata.resourceVersion)).toBeGreaterThan(Number(one.metadata.resourceVersion));
    expect((await lookup(objects, "/api/v1/namespaces/default/configmaps/two")).status).toBe(404);

    writeFileSync(`${f}.skip`, "");
    writeFileSync(f, cm("three", "3"));
    await m.scan();
    expect((await lookup(objects, "/api/v1/namespaces/default/configmaps/one")).status).toBe(200);
    expect((await lookup(objects, "/api/v1/namespaces/default/configmaps/three")).status).toBe(404);

    rmSync(`${f}.skip`);
    rmSync(f);
    await m.scan();
    expect((await lookup(objects, "/api/v1/namespaces/default/configmaps/one")).status).toBe(404);
  });

  it("leaves objects created through the API alone", async () => {
    const { objects, m, controllers } = open();
    await controllers.tick();
    const res = await objects.resource("", "v1", "configmaps");
    if (!res) throw new Error("no configmaps");
    await objects.create(res, "v1", "default", { metadata: { name: "mine" }, data: { a: "1" } });
    mkdirSync(manifests, { recursive: true });
    const f = join(manifests, "app.yaml");
    writeFileSync(f, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs}\n");
    await m.scan();
    // The manifest's object is deleted through the API and made again there: no longer the manifest's.
    await objects.delete(res, "v1", "default", "theirs");
    await objects.create(res, "v1", "default", { metadata: { name: "theirs" } });
    rmSync(f);
    await m.scan();
    expect((await lookup(objects, "/api/v1/namespaces/default/configmaps/mine")).status).toBe(200);
    expect((await lookup(objects, "/api/v1/namespaces/default/configmaps/theirs")).status).toBe(200);
  });

  it("persists objects across restarts", async () => {
    const first = open();
    first.m.stageBundled(new Set());
    await first.m.scan();
    const uid = (await get(first.objects, "/api/v1/namespaces/kube-system/configmaps/coredns")).metadata.uid;
    const second = open();
    second.m.stageBundled(new Set());
    expect(await second.m.scan()).toBe(false);
    expect((await get(second.objects, "/api/v1/namespaces/kube-system/configmaps/coredns")).metadata.uid).toBe(uid);
  });

  it("merges node entries into NodeHosts and keeps them, with the manifest's own lines, after a re-apply", async () => {
    const { objects, m } = open();
    const nodeHosts = async (o: Objects): Promise<string | undefined> =>
      (await get(o, "/api/v1/namespaces/kube-system/configmaps/coredns")).data?.NodeHosts;
    m.stageBundled(new Set());
    await m.scan();
    await m.setNodeHosts([{ ip: "172.18.0.3", name: "k3box-a-server-0" }]);
    expect(await nodeHosts(objects)).toBe("172.18.0.3 k3box-a-server-0\n");
    expect(logged()).toContain("Synced coredns NodeHosts entries for k3box-a-server-0");

    // k3box injects its own entry into the staged manifest, as k3d does.
    const file = join(manifests, "coredns.yaml");
    const text = readFileSync(file, "utf8").replace("  NodeHosts: |\n", "  NodeHosts: |\n    172.18.0.1 host.k3box.internal\n");
    writeFileSync(file, text);
    await m.scan();
    expect(await nodeHosts(objects)).toBe("172.18.0.1 host.k3box.internal\n172.18.0.3 k3box-a-server-0\n");

    await m.setNodeHosts([
      { ip: "172.18.0.3", name: "k3box-a-server-0" },
      { ip: "172.18.0.4", name: "k3box-a-agent-0" },
    ]);
    expect(await nodeHosts(objects)).toBe(
      "172.18.0.1 host.k3box.internal\n172.18.0.3 k3box-a-server-0\n172.18.0.4 k3box-a-agent-0\n",
    );

    // A restart re-stages the plain manifest; the node entries come back from the registry.
    const second = open();
    second.m.stageBundled(new Set());
    await second.m.scan();
    await second.m.setNodeHosts([
      { ip: "172.18.0.3", name: "k3box-a-server-0" },
      { ip: "172.18.0.4", name: "k3box-a-agent-0" },
    ]);
    expect(await nodeHosts(second.objects)).toBe("172.18.0.3 k3box-a-server-0\n172.18.0.4 k3box-a-agent-0\n");
  });

  it("serves custom resources once their CRD is established, retrying the manifest until then", async () => {
    const { objects, m, controllers } = open();
    mkdirSync(manifests, { recursive: true });
    writeFileSync(
      join(manifests, "crd.yaml"),
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Widget, plural: widgets}
  versions: [{name: v1, served: true, storage: true}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`,
    );
    await m.scan();
    expect(logged()).toContain('no matches for kind \\"Widget\\" in version \\"example.com/v1\\"');
    expect((await lookup(objects, "/apis/example.com/v1/widgets/w")).status).toBe(404);
    await controllers.tick();
    await m.scan();
    const w = await get(objects, "/apis/example.com/v1/widgets/w");
    expect(w).toMatchObject({ kind: "Widget", apiVersion: "example.com/v1", metadata: { name: "w", generation: 1 } });
    expect(w.metadata.namespace).toBeUndefined();
  });

  it("logs a broken manifest once and keeps going", async () => {
    const { m } = open();
    mkdirSync(manifests, { recursive: true });
    writeFileSync(join(manifests, "bad.yaml"), "a: [");
    await m.scan();
    await m.scan();
    expect(logged().match(/level=error msg="Failed to process config: failed to process .*bad.yaml/g)).toHaveLength(1);
  });
});
