import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import {
  isManifestFile,
  mergeNodeHosts,
  ObjectStore,
  parseManifest,
  parseObjectPath,
} from "../../fixtures/k3s-double/src/manifests.js";
import { pluralize } from "../../fixtures/k3s-double/src/manifests-kinds.js";

type Obj = { kind: string; apiVersion: string; metadata: Record<string, unknown>; data?: Record<string, string>; items?: Obj[] };

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
    expect(parseObjectPath("/api/v1/namespaces/a/pods/p/log")).toBeUndefined();
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

describe("ObjectStore", () => {
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
  const get = (s: ObjectStore, path: string): Obj => {
    const r = s.lookup(path);
    expect(r?.status).toBe(200);
    return r?.body as Obj;
  };

  it("stages coredns.yaml (0600 in 0700) with the NodeHosts block and a NodeHosts key", () => {
    const s = new ObjectStore(dir);
    s.stageBundled(new Set());
    const file = join(manifests, "coredns.yaml");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(manifests).mode & 0o777).toBe(0o700);
    expect(logged()).toContain(`msg="Writing manifest: ${file}"`);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/hosts \/etc\/coredns\/NodeHosts \{\n\s+ttl 60\n\s+reload 15s\n\s+fallthrough\n\s+\}/);
    const docs = text.split(/^---$/m).map((d) => parse(d) as Obj);
    const cm = docs.find((d) => d.kind === "ConfigMap");
    expect(cm?.data?.NodeHosts).toBe("");
  });

  it("--disable deletes X.yaml and X/", () => {
    mkdirSync(join(manifests, "metrics-server"), { recursive: true });
    writeFileSync(join(manifests, "metrics-server", "a.yaml"), "");
    writeFileSync(join(manifests, "traefik.yaml"), "");
    const s = new ObjectStore(dir);
    s.stageBundled(new Set(["coredns", "metrics-server", "traefik"]));
    expect(existsSync(join(manifests, "coredns.yaml"))).toBe(false);
    expect(existsSync(join(manifests, "metrics-server"))).toBe(false);
    expect(existsSync(join(manifests, "traefik.yaml"))).toBe(false);
    expect(existsSync(join(manifests, "local-storage.yaml"))).toBe(true);
  });

  it("stores objects with server fields, serves get, list and 404, and not nodes", () => {
    const s = new ObjectStore(dir);
    s.stageBundled(new Set());
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
    s.start();
    s.stop();
    expect(s.hasCorednsConfigMap()).toBe(true);
    expect(s.hadCorednsConfigMapAtLoad()).toBe(false);
    const cm = get(s, "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting");
    expect(cm.data?.["localRegistryHosting.v1"]).toBe('host: "localhost:5000"\n');
    expect(cm.metadata.namespace).toBe("kube-public");
    expect(cm.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(cm.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(cm.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const list = get(s, "/api/v1/namespaces/kube-public/configmaps");
    expect(list.kind).toBe("ConfigMapList");
    expect(list.items?.map((i) => i.metadata.name)).toEqual(["local-registry-hosting"]);

    const dns = get(s, "/api/v1/namespaces/kube-system/services/kube-dns") as unknown as { spec: { clusterIP: string } };
    expect(dns.spec.clusterIP).toBe("10.43.0.10");
    expect(get(s, "/apis/apps/v1/namespaces/kube-system/deployments/coredns").kind).toBe("Deployment");
    expect(get(s, "/apis/storage.k8s.io/v1/storageclasses/local-path").kind).toBe("StorageClass");
    expect(get(s, "/api/v1/namespaces/kube-public").kind).toBe("Namespace");

    const missing = s.lookup("/api/v1/namespaces/kube-public/configmaps/nope");
    expect(missing).toEqual({
      status: 404,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'configmaps "nope" not found',
        reason: "NotFound",
        details: { name: "nope", kind: "configmaps" },
        code: 404,
      },
    });
    const missingDeploy = s.lookup("/apis/apps/v1/namespaces/x/deployments/nope");
    expect((missingDeploy?.body as { message: string }).message).toBe('deployments.apps "nope" not found');

    expect(s.lookup("/api/v1/nodes")).toBeUndefined();
    expect(s.lookup("/api/v1/nodes/n")).toBeUndefined();
    expect(s.lookup("/api/v1/namespaces/a/pods/p/log")).toBeUndefined();
    expect(s.lookup("/apis/example.com/v1/namespaces/a/widgets/w")).toBeUndefined();
  });

  it("replaces a changed file's objects, removes a deleted file's, and keeps a .skip'd file's", () => {
    const s = new ObjectStore(dir);
    mkdirSync(manifests, { recursive: true });
    const f = join(manifests, "app.yaml");
    const cm = (name: string, v: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${v}"}\n---\n`;
    writeFileSync(f, cm("one", "1") + cm("two", "2"));
    s.scan();
    const one = get(s, "/api/v1/namespaces/default/configmaps/one");
    writeFileSync(f, cm("one", "1b"));
    s.scan();
    const oneB = get(s, "/api/v1/namespaces/default/configmaps/one");
    expect(oneB.data?.v).toBe("1b");
    expect(oneB.metadata.uid).toBe(one.metadata.uid);
    expect(Number(oneB.metadata.resourceVersion)).toBeGreaterThan(Number(one.metadata.resourceVersion));
    expect(s.lookup("/api/v1/namespaces/default/configmaps/two")?.status).toBe(404);

    writeFileSync(`${f}.skip`, "");
    writeFileSync(f, cm("three", "3"));
    s.scan();
    expect(s.lookup("/api/v1/namespaces/default/configmaps/one")?.status).toBe(200);
    expect(s.lookup("/api/v1/namespaces/default/configmaps/three")?.status).toBe(404);

    rmSync(`${f}.skip`);
    rmSync(f);
    s.scan();
    expect(s.lookup("/api/v1/namespaces/default/configmaps/one")?.status).toBe(404);
  });

  it("persists objects across restarts", () => {
    const s = new ObjectStore(dir);
    s.stageBundled(new Set());
    s.start();
    s.stop();
    const uid = get(s, "/api/v1/namespaces/kube-system/configmaps/coredns").metadata.uid;
    const s2 = new ObjectStore(dir);
    expect(s2.hadCorednsConfigMapAtLoad()).toBe(true);
    s2.stageBundled(new Set());
    s2.start();
    s2.stop();
    expect(get(s2, "/api/v1/namespaces/kube-system/configmaps/coredns").metadata.uid).toBe(uid);
  });

  it("merges node entries into NodeHosts and keeps them, with the manifest's own lines, after a re-apply", () => {
    const s = new ObjectStore(dir);
    s.stageBundled(new Set());
    s.start();
    s.stop();
    s.setNodeHosts([{ ip: "172.18.0.3", name: "k3box-a-server-0" }]);
    expect(get(s, "/api/v1/namespaces/kube-system/configmaps/coredns").data?.NodeHosts).toBe("172.18.0.3 k3box-a-server-0\n");
    expect(logged()).toContain("Synced coredns NodeHosts entries for k3box-a-server-0");

    // k3box injects its own entry into the staged manifest, as k3d does.
    const file = join(manifests, "coredns.yaml");
    const text = readFileSync(file, "utf8").replace("  NodeHosts: |\n", "  NodeHosts: |\n    172.18.0.1 host.k3box.internal\n");
    writeFileSync(file, text);
    s.scan();
    expect(get(s, "/api/v1/namespaces/kube-system/configmaps/coredns").data?.NodeHosts).toBe(
      "172.18.0.1 host.k3box.internal\n172.18.0.3 k3box-a-server-0\n",
    );

    s.setNodeHosts([
      { ip: "172.18.0.3", name: "k3box-a-server-0" },
      { ip: "172.18.0.4", name: "k3box-a-agent-0" },
    ]);
    expect(get(s, "/api/v1/namespaces/kube-system/configmaps/coredns").data?.NodeHosts).toBe(
      "172.18.0.1 host.k3box.internal\n172.18.0.3 k3box-a-server-0\n172.18.0.4 k3box-a-agent-0\n",
    );

    // A restart re-stages the plain manifest; the node entries survive it.
    const s2 = new ObjectStore(dir);
    s2.stageBundled(new Set());
    s2.start();
    s2.stop();
    expect(get(s2, "/api/v1/namespaces/kube-system/configmaps/coredns").data?.NodeHosts).toBe(
      "172.18.0.3 k3box-a-server-0\n172.18.0.4 k3box-a-agent-0\n",
    );
  });

  it("serves custom resources by their CRD's plural and scope", () => {
    const s = new ObjectStore(dir);
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
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`,
    );
    s.scan();
    expect(get(s, "/apis/example.com/v1/widgets/w").kind).toBe("Widget");
    expect(s.lookup("/apis/example.com/v1/namespaces/default/widgets/w")).toBeUndefined();
  });

  it("logs a broken manifest once and keeps going", () => {
    const s = new ObjectStore(dir);
    mkdirSync(manifests, { recursive: true });
    writeFileSync(join(manifests, "bad.yaml"), "a: [");
    s.scan();
    s.scan();
    expect(logged().match(/level=error msg="Failed to process config: failed to process .*bad.yaml/g)).toHaveLength(1);
  });
});
