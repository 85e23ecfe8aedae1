// The k3s double's object store: Kubernetes API semantics over its key-value store,
// and the simulated controllers, driven with a fake clock.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Controllers, type SimulationKnobs } from "../../fixtures/k3s-double/src/controllers.js";
import { FileKV } from "../../fixtures/k3s-double/src/kv.js";
import type { ResourceInfo } from "../../fixtures/k3s-double/src/manifests-kinds.js";
import { NodeRegistry, type NodeObject } from "../../fixtures/k3s-double/src/nodes.js";
import { Objects, type KubeObject } from "../../fixtures/k3s-double/src/objects.js";
import { ApiError } from "../../fixtures/k3s-double/src/respond.js";
import { parseLabelSelector } from "../../fixtures/k3s-double/src/selectors.js";

const sandboxes = vi.hoisted(() => ({ blocked: false }));
vi.mock("../../fixtures/k3s-double/src/sandboxes.js", () => ({ podSandboxesBlocked: () => sandboxes.blocked }));

type Obj = KubeObject & { status?: Record<string, unknown>; spec?: Record<string, unknown>; data?: Record<string, string> };

let dir = "";
let objects: Objects;
let now = 0;
const clock = (): number => now;

beforeEach(() => {
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  dir = mkdtempSync(join(tmpdir(), "k3s-double-objects-"));
  objects = new Objects(new FileKV(join(dir, "kv.json"), false));
  now = Date.parse("2026-01-01T00:00:00Z");
  sandboxes.blocked = false;
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function res(group: string, version: string, plural: string): Promise<ResourceInfo> {
  const r = await objects.resource(group, version, plural);
  if (!r) throw new Error(`${plural} not served`);
  return r;
}

/** The ApiError a promise fails with. */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an API error");
}

const KNOBS: SimulationKnobs = {
  workloadDelayMs: 1000,
  holdWorkloads: false,
  serviceAccountDelayMs: 1000,
  namespaceDeleteDelayMs: 1000,
  crdDelayMs: 500,
};
const controllers = (knobs: Partial<SimulationKnobs> = {}, o: Objects = objects, nodeName = "n"): Controllers =>
  new Controllers(o, { nodeName, serverCA: "-----CA-----", knobs: { ...KNOBS, ...knobs }, clock });

async function withNamespaces(): Promise<Controllers> {
  const c = controllers();
  await c.tick();
  return c;
}

const deployment = (name: string, replicas = 2): Record<string, unknown> => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
  },
});

const condition = (o: Obj, type: string): Record<string, unknown> | undefined =>
  (o.status?.conditions as Record<string, unknown>[] | undefined)?.find((c) => c.type === type);

describe("object API", () => {
  it("creates with server metadata, refuses duplicates and missing namespaces with the API's Status", async () => {
    await withNamespaces();
    const cms = await res("", "v1", "configmaps");
    const cm = await objects.create(cms, "v1", "default", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a" },
      data: { k: "v" },
    });
    expect(cm.metadata).toMatchObject({
      name: "a",
      namespace: "default",
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      resourceVersion: expect.stringMatching(/^\d+$/),
    });
    expect(cm.metadata.generation).toBeUndefined();
    const dup = await failure(objects.create(cms, "v1", "default", { metadata: { name: "a" } }));
    expect([dup.code, dup.reason, dup.message, dup.details]).toEqual([
      409,
      "AlreadyExists",
      'configmaps "a" already exists',
      { name: "a", kind: "configmaps" },
    ]);
    const nons = await failure(objects.create(cms, "v1", "nope", { metadata: { name: "a" } }));
    expect([nons.code, nons.message]).toEqual([404, 'namespaces "nope" not found']);
    const gen = await objects.create(cms, "v1", "default", { metadata: { generateName: "gen-" } });
    expect(gen.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    const noName = await failure(objects.create(cms, "v1", "default", { metadata: {} }));
    expect([noName.code, noName.reason]).toEqual([422, "Invalid"]);
    const wrongNs = await failure(objects.create(cms, "v1", "default", { metadata: { name: "b", namespace: "kube-system" } }));
    expect(wrongNs.message).toBe("the namespace of the provided object does not match the namespace sent on the request");

    const deploys = await res("apps", "v1", "deployments");
    const d = await objects.create(deploys, "v1", "default", { ...deployment("web"), status: { readyReplicas: 9 } });
    expect(d.metadata.generation).toBe(1);
    expect((d as Obj).status).toBeUndefined();
    const again = await failure(objects.create(deploys, "v1", "default", deployment("web")));
    expect(again.message).toBe('deployments.apps "web" already exists');
    expect(again.details).toEqual({ name: "web", group: "apps", kind: "deployments" });
  });

  it("replaces with resourceVersion preconditions, keeps status outside /status, and counts spec generations", async () => {
    await withNamespaces();
    const deploys = await res("apps", "v1", "deployments");
    const d = (await objects.create(deploys, "v1", "default", deployment("web"))) as Obj;
    const withStatus = (await objects.replace(
      deploys,
      "v1",
      "default",
      "web",
      { ...d, status: { replicas: 2 } },
      { subresource: "status" },
    )) as Obj;
    expect(withStatus.status).toEqual({ replicas: 2 });
    expect(withStatus.metadata.generation).toBe(1);

    const relabelled = (await objects.replace(deploys, "v1", "default", "web", {
      ...withStatus,
      metadata: { ...withStatus.metadata, labels: { x: "y" } },
      status: {},
    })) as Obj;
    expect(relabelled.metadata.generation).toBe(1);
    expect(relabelled.status).toEqual({ replicas: 2 });
    const scaled = (await objects.replace(deploys, "v1", "default", "web", {
      ...relabelled,
      spec: { ...relabelled.spec, replicas: 3 },
    })) as Obj;
    expect(scaled.metadata.generation).toBe(2);
    expect(Number(scaled.metadata.resourceVersion)).toBeGreaterThan(Number(relabelled.metadata.resourceVersion));
    expect(scaled.metadata.uid).toBe(d.metadata.uid);

    const stale = await failure(objects.replace(deploys, "v1", "default", "web", d));
    expect([stale.code, stale.reason, stale.message]).toEqual([
      409,
      "Conflict",
      'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    ]);
    const renamed = await failure(
      objects.replace(deploys, "v1", "default", "web", { ...scaled, metadata: { ...scaled.metadata, name: "other" } }),
    );
    expect(renamed.message).toBe("the name of the object (other) does not match the name on the URL (web)");
    expect((await failure(objects.replace(deploys, "v1", "default", "nope", { ...deployment("nope") }))).code).toBe(404);
  });

  it("patches: merge, JSON patch, strategic as merge; server-side apply creates and needs a fieldManager", async () => {
    await withNamespaces();
    const cms = await res("", "v1", "configmaps");
    const applied = await objects.patch(
      cms,
      "v1",
      "default",
      "c",
      "apply",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1', b: '2'}\n",
      { fieldManager: "test" },
    );
    expect(applied.created).toBe(true);
    const merged = await objects.patch(cms, "v1", "default", "c", "merge", JSON.stringify({ data: { a: null, c: "3" } }));
    expect((merged.obj as Obj).data).toEqual({ b: "2", c: "3" });
    const json = await objects.patch(
      cms,
      "v1",
      "default",
      "c",
      "json",
      JSON.stringify([{ op: "add", path: "/data/d", value: "4" }]),
    );
    expect((json.obj as Obj).data).toEqual({ b: "2", c: "3", d: "4" });
    const again = await objects.patch(
      cms,
      "v1",
      "default",
      "c",
      "apply",
      JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", labels: { l: "1" } } }),
      { fieldManager: "test", force: "true" },
    );
    expect(again.created).toBe(false);
    expect((again.obj as Obj).data).toEqual({ b: "2", c: "3", d: "4" });
    expect(again.obj.metadata.labels).toEqual({ l: "1" });

    const noManager = await failure(objects.patch(cms, "v1", "default", "c", "apply", "apiVersion: v1\nkind: ConfigMap\n"));
    expect([noManager.code, noManager.message]).toEqual([
      422,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    ]);
    expect((await failure(objects.patch(cms, "v1", "default", "c", "merge", "{}", { force: "true" }))).code).toBe(422);
    expect((await failure(objects.patch(cms, "v1", "default", "missing", "merge", "{}"))).code).toBe(404);
    const stale = await failure(
      objects.patch(cms, "v1", "default", "c", "merge", JSON.stringify({ metadata: { resourceVersion: "1" } })),
    );
    expect(stale.reason).toBe("Conflict");
  });

  it("lists with label and field selectors; typed list items carry no kind", async () => {
    await withNamespaces();
    const cms = await res("", "v1", "configmaps");
    for (const [ns, name, labels] of [
      ["default", "a", { app: "x", tier: "web" }],
      ["default", "b", { app: "y" }],
      ["kube-public", "c", { app: "x", tier: "db" }],
      ["kube-public", "d", {}],
    ] as const) {
      await objects.create(cms, "v1", ns, { metadata: { name, labels } });
    }
    const names = async (ns: string | undefined, labelSelector?: string, fieldSelector?: string): Promise<string[]> => {
      const l = await objects.list(cms, "v1", ns, { labelSelector, fieldSelector });
      return (l.items as KubeObject[]).map((i) => i.metadata.name);
    };
    expect(await names("default")).toEqual(["a", "b"]);
    expect(await names(undefined, "app=x")).toEqual(["c", "a"].sort((a, b) => (a === "c" ? 1 : b === "c" ? -1 : 0)));
    expect(await names(undefined, "app==x,tier!=db")).toEqual(["a"]);
    expect(await names(undefined, "tier in (web, db)")).toEqual(["a", "c"]);
    expect(await names(undefined, "app notin (x)")).toEqual(["b", "d"]);
    expect(await names(undefined, "tier")).toEqual(["a", "c"]);
    expect(await names(undefined, "!app")).toEqual(["d"]);
    expect(await names(undefined, undefined, "metadata.name=b")).toEqual(["b"]);
    expect(await names(undefined, undefined, "metadata.namespace!=default")).toEqual(["c", "d"]);
    const l = await objects.list(cms, "v1", "default");
    expect(l).toMatchObject({
      kind: "ConfigMapList",
      apiVersion: "v1",
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    });
    expect((l.items as Record<string, unknown>[])[0]?.kind).toBeUndefined();
    expect((await failure(objects.list(cms, "v1", undefined, { labelSelector: "a in (" }))).code).toBe(400);
    expect((await failure(objects.list(cms, "v1", undefined, { fieldSelector: "spec.x=1" }))).message).toBe(
      "field label not supported: spec.x",
    );
  });

  it("parses the label selector grammar, including numeric comparisons", () => {
    const sel = parseLabelSelector("a,b!=2,c in (x),n>3");
    expect(sel({ a: "", c: "x", n: "4" })).toBe(true);
    expect(sel({ a: "", b: "2", c: "x", n: "4" })).toBe(false);
    expect(sel({ a: "", c: "x", n: "3" })).toBe(false);
    expect(() => parseLabelSelector("bad key=1")).toThrow(ApiError);
  });

  it("deletes: a Status for most kinds, finalizers hold an object, namespaces terminate and protect themselves", async () => {
    const c = await withNamespaces();
    const cms = await res("", "v1", "configmaps");
    const nss = await res("", "v1", "namespaces");
    const cm = await objects.create(cms, "v1", "default", { metadata: { name: "a" } });
    expect(await objects.delete(cms, "v1", "default", "a")).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: "a", kind: "configmaps", uid: cm.metadata.uid },
    });
    expect((await failure(objects.delete(cms, "v1", "default", "a"))).message).toBe('configmaps "a" not found');

    await objects.create(cms, "v1", "default", { metadata: { name: "held", finalizers: ["example.com/hold"] } });
    const held = (await objects.delete(cms, "v1", "default", "held")) as KubeObject;
    expect(held.metadata.deletionTimestamp).toBeDefined();
    const still = await objects.get(cms, "v1", "default", "held");
    await objects.replace(cms, "v1", "default", "held", { ...still, metadata: { ...still.metadata, finalizers: [] } });
    expect((await failure(objects.get(cms, "v1", "default", "held"))).code).toBe(404);

    const immortal = await failure(objects.delete(nss, "v1", undefined, "kube-system"));
    expect([immortal.code, immortal.message]).toEqual([
      403,
      'namespaces "kube-system" is forbidden: this namespace may not be deleted',
    ]);
    await objects.create(nss, "v1", undefined, { metadata: { name: "tmp" } });
    await objects.create(cms, "v1", "tmp", { metadata: { name: "inside" } });
    const ns = (await objects.delete(nss, "v1", undefined, "tmp")) as Obj;
    expect(ns.status).toEqual({ phase: "Terminating" });
    expect((await failure(objects.delete(nss, "v1", undefined, "tmp"))).reason).toBe("Conflict");
    const late = await failure(objects.create(cms, "v1", "tmp", { metadata: { name: "late" } }));
    expect([late.code, late.message]).toEqual([
      403,
      'configmaps "late" is forbidden: unable to create new content in namespace tmp because it is being terminated',
    ]);
    expect(late.details.causes).toEqual([
      { reason: "NamespaceTerminating", message: "namespace tmp is being terminated", field: "metadata.namespace" },
    ]);

    await c.tick();
    expect((await objects.get(nss, "v1", undefined, "tmp")).metadata.name).toBe("tmp");
    now += 1000;
    await c.tick();
    expect((await failure(objects.get(nss, "v1", undefined, "tmp"))).code).toBe(404);
    expect((await failure(objects.get(cms, "v1", "tmp", "inside"))).code).toBe(404);
  });

  it("keeps Nodes and node passwords in the store; Nodes report Ready only while the API is", async () => {
    let ready = false;
    const registry = new NodeRegistry(objects, () => ready);
    expect(await registry.checkPassword("n1", "pw")).toBe(true);
    expect(await registry.checkPassword("n1", "pw")).toBe(true);
    expect(await registry.checkPassword("n1", "other")).toBe(false);
    const secret = await objects.get(await res("", "v1", "secrets"), "v1", "kube-system", "n1.node-password.k3s");
    expect(JSON.stringify(secret)).not.toContain('"pw"');
    const node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1", labels: {}, annotations: {} },
      spec: {},
      status: { addresses: [], nodeInfo: {} },
    } as NodeObject;
    const a = await registry.register(node);
    const b = await registry.register({ ...node, metadata: { ...node.metadata, name: "n2" } });
    expect([a.spec.podCIDR, b.spec.podCIDR]).toEqual(["10.42.0.0/24", "10.42.1.0/24"]);
    expect(a.status.conditions?.[0]).toMatchObject({ type: "Ready", status: "False" });
    ready = true;
    const again = await registry.register({ ...node, metadata: { ...node.metadata, labels: { x: "1" } } });
    expect(again.metadata.uid).toBe(a.metadata.uid);
    expect(again.spec.podCIDR).toBe("10.42.0.0/24");
    expect(again.status.conditions?.[0]).toMatchObject({ type: "Ready", status: "True" });
    const nodes = await res("", "v1", "nodes");
    expect(
      ((await objects.list(nodes, "v1", undefined, { labelSelector: "x=1" })).items as KubeObject[]).map((n) => n.metadata.name),
    ).toEqual(["n1"]);
    expect(await registry.remove("n1")).toBeDefined();
    expect(await registry.checkPassword("n1", "other")).toBe(true);
  });
});

describe("simulated controllers", () => {
  it("creates the system namespaces, then each namespace's default ServiceAccount and root CA after the delay", async () => {
    const c = controllers();
    await c.tick();
    const nss = await res("", "v1", "namespaces");
    const sas = await res("", "v1", "serviceaccounts");
    const cms = await res("", "v1", "configmaps");
    expect(((await objects.list(nss, "v1", undefined)).items as KubeObject[]).map((n) => n.metadata.name)).toEqual([
      "default",
      "kube-node-lease",
      "kube-public",
      "kube-system",
    ]);
    expect((await objects.get(await res("", "v1", "services"), "v1", "default", "kubernetes")).spec).toMatchObject({
      clusterIP: "10.43.0.1",
    });
    expect((await objects.list(sas, "v1", undefined)).items).toEqual([]);
    now += 999;
    await c.tick();
    expect((await objects.list(sas, "v1", undefined)).items).toEqual([]);
    now += 1;
    await c.tick();
    expect(((await objects.list(sas, "v1", "default")).items as KubeObject[]).map((s) => s.metadata.name)).toEqual(["default"]);
    expect(((await objects.get(cms, "v1", "kube-public", "kube-root-ca.crt")) as Obj).data).toEqual({ "ca.crt": "-----CA-----" });
    await objects.create(nss, "v1", undefined, { metadata: { name: "late" } });
    await c.tick();
    now += 1000;
    await c.tick();
    expect(((await objects.list(sas, "v1", "late")).items as KubeObject[]).map((s) => s.metadata.name)).toEqual(["default"]);
  });

  it("establishes a CRD after its delay; only then is its kind served", async () => {
    const c = controllers();
    await c.tick();
    const crds = await res("apiextensions.k8s.io", "v1", "customresourcedefinitions");
    const crd = {
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { kind: "Widget", plural: "widgets" },
        versions: [{ name: "v1", served: true, storage: true, subresources: { status: {} } }],
      },
    };
    const bad = await failure(objects.create(crds, "v1", undefined, { ...crd, metadata: { name: "widgets" } }));
    expect(bad.message).toBe(
      'CustomResourceDefinition "widgets" is invalid: metadata.name: Invalid value: "widgets": must be spec.names.plural+"."+spec.group',
    );
    await objects.create(crds, "v1", undefined, crd);
    await c.tick();
    expect(await objects.resource("example.com", "v1", "widgets")).toBeUndefined();
    now += 500;
    await c.tick();
    const got = (await objects.get(crds, "v1", undefined, "widgets.example.com")) as Obj;
    expect(condition(got, "Established")).toMatchObject({ status: "True" });
    expect(condition(got, "NamesAccepted")).toMatchObject({ status: "True" });
    const widgets = await res("example.com", "v1", "widgets");
    expect(widgets).toMatchObject({ kind: "Widget", namespaced: true, status: true, prefix: "/registry/example.com/widgets" });
    const w = await objects.create(widgets, "v1", "default", {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w" },
      spec: { a: 1 },
    });
    expect(w.metadata.generation).toBe(1);
    await objects.delete(crds, "v1", undefined, "widgets.example.com");
    expect(await objects.resource("example.com", "v1", "widgets")).toBeUndefined();
    expect((await objects.kv.list("/registry/example.com/")).rows).toEqual([]);
  });

  it("brings workloads up after the delay: Deployment Available, Pod Running and Ready, Job Complete", async () => {
    const c = controllers();
    await c.tick();
    await new NodeRegistry(objects, () => true).register({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-a", labels: {}, annotations: {} },
      spec: {},
      status: { addresses: [{ type: "InternalIP", address: "172.18.0.2" }], nodeInfo: {} },
    });
    const deploys = await res("apps", "v1", "deployments");
    const pods = await res("", "v1", "pods");
    const jobs = await res("batch", "v1", "jobs");
    const dss = await res("apps", "v1", "daemonsets");
    await objects.create(deploys, "v1", "default", deployment("web"));
    await objects.create(pods, "v1", "default", {
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    await objects.create(jobs, "v1", "default", {
      metadata: { name: "j" },
      spec: { template: { spec: { containers: [{ name: "c", image: "busybox" }] } } },
    });
    await objects.create(dss, "v1", "default", {
      metadata: { name: "ds" },
      spec: { template: { spec: { containers: [{ name: "c", image: "busybox" }] } } },
    });
    await c.tick();
    let d = (await objects.get(deploys, "v1", "default", "web")) as Obj;
    expect(d.status).toMatchObject({ observedGeneration: 1, replicas: 2, unavailableReplicas: 2 });
    expect(condition(d, "Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable" });
    expect(((await objects.get(pods, "v1", "default", "p")) as Obj).status).toMatchObject({ phase: "Pending" });
    now += 1000;
    await c.tick();
    d = (await objects.get(deploys, "v1", "default", "web")) as Obj;
    expect(d.status).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      updatedReplicas: 2,
      observedGeneration: 1,
    });
    expect(condition(d, "Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
    const p = (await objects.get(pods, "v1", "default", "p")) as Obj;
    expect(p.spec?.nodeName).toBe("node-a");
    expect(p.status).toMatchObject({ phase: "Running", hostIP: "172.18.0.2", podIP: expect.stringMatching(/^10\.42\.0\.\d+$/) });
    expect(condition(p, "Ready")).toMatchObject({ status: "True" });
    const j = (await objects.get(jobs, "v1", "default", "j")) as Obj;
    expect(condition(j, "Complete")).toMatchObject({ status: "True" });
    expect(j.status).toMatchObject({ succeeded: 1 });
    expect(((await objects.get(dss, "v1", "default", "ds")) as Obj).status).toMatchObject({
      desiredNumberScheduled: 1,
      numberReady: 1,
    });

    // A new generation goes through the delay again; the resourceVersion does not move while nothing changes.
    const rv = d.metadata.resourceVersion;
    await c.tick();
    expect((await objects.get(deploys, "v1", "default", "web")).metadata.resourceVersion).toBe(rv);
    await objects.patch(deploys, "v1", "default", "web", "merge", JSON.stringify({ spec: { replicas: 3 } }));
    await c.tick();
    d = (await objects.get(deploys, "v1", "default", "web")) as Obj;
    expect(d.status).toMatchObject({ observedGeneration: 2, replicas: 3, unavailableReplicas: 3 });
  });

  it("holds workloads unready while pod sandboxes are blocked or K3S_DOUBLE_WORKLOADS=hold", async () => {
    for (const [blocked, hold] of [
      [true, false],
      [false, true],
    ] as const) {
      sandboxes.blocked = blocked;
      const c = controllers({ holdWorkloads: hold });
      await c.tick();
      const deploys = await res("apps", "v1", "deployments");
      const pods = await res("", "v1", "pods");
      const name = `web-${String(blocked)}`;
      await objects.create(deploys, "v1", "default", deployment(name, 1));
      await objects.create(pods, "v1", "default", {
        metadata: { name },
        spec: { nodeName: "gone", containers: [{ name: "c", image: "x" }] },
      });
      now += 60_000;
      await c.tick();
      const d = (await objects.get(deploys, "v1", "default", name)) as Obj;
      expect(condition(d, "Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable" });
      expect(d.status?.readyReplicas).toBeUndefined();
      const p = (await objects.get(pods, "v1", "default", name)) as Obj;
      expect(p.status?.phase).toBe("Pending");
    }
    // Once sandboxes run again, the workloads come up.
    sandboxes.blocked = false;
    const c = controllers();
    await c.tick();
    now += 1000;
    await c.tick();
    const d = (await objects.get(await res("apps", "v1", "deployments"), "v1", "default", "web-true")) as Obj;
    expect(condition(d, "Available")).toMatchObject({ status: "True" });
  });

  it("runs a helm-install Job per HelmChart; the bundled traefik chart then installs its Deployment", async () => {
    const c = controllers({ workloadDelayMs: 0 });
    await c.tick();
    const charts = await res("helm.cattle.io", "v1", "helmcharts");
    const content = Buffer.from("not really a tgz").toString("base64");
    await objects.create(charts, "v1", "kube-system", {
      metadata: { name: "traefik" },
      spec: { chart: "traefik", targetNamespace: "kube-system" },
    });
    await objects.create(charts, "v1", "kube-system", { metadata: { name: "mine" }, spec: { chartContent: content } });
    await c.tick();
    const jobs = await res("batch", "v1", "jobs");
    const job = (await objects.get(jobs, "v1", "kube-system", "helm-install-mine")) as Obj;
    expect(job.metadata.labels).toEqual({ "helmcharts.helm.cattle.io/chart": "mine" });
    expect(JSON.stringify(job.spec)).toContain("rancher/klipper-helm:");
    expect(((await objects.get(charts, "v1", "kube-system", "mine")) as Obj).spec?.chartContent).toBe(content);
    expect(((await objects.get(charts, "v1", "kube-system", "mine")) as Obj).status).toEqual({ jobName: "helm-install-mine" });
    await c.tick();
    await c.tick();
    expect(condition((await objects.get(jobs, "v1", "kube-system", "helm-install-traefik")) as Obj, "Complete")).toMatchObject({
      status: "True",
    });
    expect((await objects.get(await res("apps", "v1", "deployments"), "v1", "kube-system", "traefik")).metadata.name).toBe(
      "traefik",
    );
  });

  it("elects one leader among servers sharing a datastore; a stale lease is taken over", async () => {
    const shared = new Objects(new FileKV(join(dir, "shared.json"), true));
    const a = controllers({}, shared, "server-a");
    const b = controllers({}, shared, "server-b");
    await a.tick();
    await b.tick();
    const leases = (await shared.resource("coordination.k8s.io", "v1", "leases")) as ResourceInfo;
    const lease = async (): Promise<string> =>
      String(((await shared.get(leases, "v1", "kube-system", "kube-controller-manager")) as Obj).spec?.holderIdentity);
    expect(await lease()).toMatch(/^server-a_/);
    const deploys = (await shared.resource("apps", "v1", "deployments")) as ResourceInfo;
    await shared.create(deploys, "v1", "default", deployment("web"));
    now += 1000;
    await b.tick();
    expect(((await shared.get(deploys, "v1", "default", "web")) as Obj).status).toBeUndefined();
    now += 20_000;
    await b.tick();
    expect(await lease()).toMatch(/^server-b_/);
    // The new leader counts the delay from when it first sees the workload.
    now += 1000;
    await b.tick();
    expect(condition((await shared.get(deploys, "v1", "default", "web")) as Obj, "Available")).toMatchObject({ status: "True" });
  });
});
