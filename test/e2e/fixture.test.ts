/**
 * k3box/testing on the real engine: a fixture held with `await using`, the Kubernetes API through
 * it (apply, waitFor, delete, reset), the nodes through the engine, reuse across processes, and
 * the reaper when a test process is killed. The user's ~/.kube/config (a sandboxed HOME) must be
 * byte-identical afterwards.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, deleteCluster, NotFoundError, TimeoutError, UsageError } from "../../src/index.js";
import { startCluster, type StartedCluster } from "../../src/testing/index.js";
import { DOUBLE_IMAGE, docker, leftovers, run, uniqueName } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixture-child.mjs", import.meta.url));

/** Someone's kubeconfig that no fixture may touch. */
const USER_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://work.example:6443"}
  name: work
contexts:
- context: {cluster: work, user: me}
  name: work
current-context: work
users:
- name: me
  user: {token: not-a-real-one}
preferences: {}
`;

const DEPLOYMENT = `apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example/web:1"}]}
`;

const CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.dev" },
  spec: {
    group: "example.dev",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wd"] },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};

let home: string;
let saved: { HOME?: string; KUBECONFIG?: string };

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "k3box-fixture-home-"));
  await mkdir(join(home, ".kube"));
  await writeFile(join(home, ".kube", "config"), USER_KUBECONFIG, { mode: 0o600 });
  saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
  process.env.HOME = home;
  delete process.env.KUBECONFIG;
});

afterAll(async () => {
  try {
    // Every fixture in this file ran with this HOME: the user's file is as it was, and alone.
    expect(await readFile(join(home, ".kube", "config"), "utf8")).toBe(USER_KUBECONFIG);
    expect(await readdir(join(home, ".kube"))).toEqual(["config"]);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(home, { recursive: true, force: true });
  }
});

/** Runs fixture-child.mjs; resolves with the process and its first JSON line. */
function child(options: object, then: "hold" | "dispose", configMap?: string): Promise<{ proc: ChildProcess; info: ChildInfo }> {
  const args = [CHILD, JSON.stringify(options), then, ...(configMap !== undefined ? [configMap] : [])];
  const proc = spawn(process.execPath, args, { env: { ...process.env, HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    proc.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
    });
    proc.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) resolve({ proc, info: JSON.parse(line) as ChildInfo });
    });
    proc.on("exit", (code) => reject(new Error(`fixture child exited ${code} before reporting: ${err}`)));
  });
}

/** kubectl as another tool the tests use, with its own HOME (it caches discovery under ~/.kube). */
function kubectl(kubeconfig: string, args: readonly string[]) {
  return run("kubectl", ["--kubeconfig", kubeconfig, ...args], { HOME: tmpdir() });
}

/** Creates an object the way a test would without k3box (kubectl create; the double needs --validate=false). */
async function createByHand(kubeconfig: string, manifest: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "k3box-by-hand-"));
  try {
    await writeFile(join(dir, "object.yaml"), manifest);
    const r = await kubectl(kubeconfig, ["create", "--validate=false", "-f", join(dir, "object.yaml")]);
    expect(r.code, r.stderr).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface ChildInfo {
  readonly name: string;
  readonly reused: boolean;
  readonly server: string;
}

function exited(proc: ChildProcess): Promise<number | null> {
  return proc.exitCode !== null ? Promise.resolve(proc.exitCode) : new Promise((r) => proc.on("exit", (code) => r(code)));
}

async function containerLabels(name: string): Promise<Record<string, string>> {
  const r = await docker(["inspect", "-f", "{{json .Config.Labels}}", name]);
  return JSON.parse(r.stdout) as Record<string, string>;
}

describe("a fixture held with await using", () => {
  it("applies a Deployment, waits for it, reaches the ingress through url(), and leaves nothing after the block", async () => {
    let name = "";
    let kubeconfigFile = "";
    {
      await using cluster = await startCluster({ image: DOUBLE_IMAGE, agents: 1, ports: ["80@loadbalancer"] });
      name = cluster.name;
      expect(name).toMatch(/^test-[0-9a-f]{6}$/);
      expect(cluster.reused).toBe(false);
      expect(cluster.nodes).toEqual([`k3box-${name}-server-0`, `k3box-${name}-agent-0`]);
      // Its objects belong to this process's session: the reaper's label is on every one.
      const session = (await containerLabels(`k3box-${name}-server-0`))["dev.k3box.session"];
      expect(session).toMatch(/^[0-9a-f]{16}$/);
      expect((await containerLabels(`k3box-${name}-serverlb`))["dev.k3box.session"]).toBe(session);
      expect((await docker(["ps", "-q", "--filter", `label=dev.k3box.reaper=${session}`])).stdout.trim()).not.toBe("");

      const applied = await cluster.apply(DEPLOYMENT);
      expect(applied).toEqual([
        { apiVersion: "v1", kind: "Namespace", name: "demo" },
        { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "demo" },
      ]);
      const deployment = await cluster.waitFor(applied[1] as (typeof applied)[number], "Available", { timeout: "1m" });
      expect(deployment?.status).toMatchObject({ availableReplicas: 2, readyReplicas: 2 });

      const res = await fetch(cluster.url(80));
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^k3s double ingress: node k3box-/);

      kubeconfigFile = await cluster.writeKubeconfig();
      expect((await stat(kubeconfigFile)).mode & 0o777).toBe(0o600);
      const got = await kubectl(kubeconfigFile, ["get", "deployment", "web", "-n", "demo", "-o", "json"]);
      expect(got.code, got.stderr).toBe(0);
      expect(JSON.parse(got.stdout).metadata.labels).toMatchObject({ "k3box.dev/applied": "true" });
    }
    expect(await leftovers(name)).toEqual([]);
    expect(existsSync(kubeconfigFile)).toBe(false);
  });
});

describe("one fixture's API and nodes", () => {
  let cluster: StartedCluster;
  beforeAll(async () => {
    cluster = await startCluster({ image: DOUBLE_IMAGE, prefix: "fx" });
  });
  afterAll(async () => {
    const name = cluster?.name;
    await cluster?.dispose();
    if (name !== undefined) expect(await leftovers(name)).toEqual([]);
  });

  it("reset() leaves only the namespaces there were at create, and removes what apply made elsewhere", async () => {
    const kubeconfig = await cluster.writeKubeconfig();
    const namespaces = async () =>
      (
        JSON.parse((await kubectl(kubeconfig, ["get", "namespaces", "-o", "json"])).stdout).items as Array<{
          metadata: { name: string };
        }>
      )
        .map((n) => n.metadata.name)
        .sort();
    const before = await namespaces();

    // A CRD and one of its objects in one call: the object waits until the kind is served.
    const dir = await mkdtemp(join(tmpdir(), "k3box-manifests-"));
    try {
      await writeFile(
        join(dir, "a-widget.yaml"),
        "apiVersion: example.dev/v1\nkind: Widget\nmetadata: {name: w1, namespace: team}\nspec: {size: 3}\n",
      );
      await writeFile(join(dir, "b-crd.json"), JSON.stringify(CRD));
      await writeFile(join(dir, "c-ns.yml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n");
      await writeFile(join(dir, "notes.txt"), "not a manifest");
      const applied = await cluster.apply(dir);
      expect(applied.map((r) => r.kind)).toEqual(["Namespace", "CustomResourceDefinition", "Widget"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await cluster.waitFor({ kind: "crd", name: "widgets.example.dev" }, "Established")).toBeDefined();
    expect((await cluster.get({ kind: "wd", name: "w1", namespace: "team" }))?.spec).toEqual({ size: 3 });
    await cluster.apply([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "applied-here" }, data: { a: "1" } }]);
    // A namespace the test made without k3box goes too: it was not there at create.
    await createByHand(kubeconfig, "apiVersion: v1\nkind: Namespace\nmetadata: {name: handmade}\n");
    await cluster.reset({ timeout: "1m" });

    expect(await namespaces()).toEqual(before);
    expect(await cluster.get("configmap/applied-here")).toBeUndefined();
    expect(await cluster.get("crd/widgets.example.dev")).toBeUndefined();
    // Asking again after reset: the Widget kind is no longer served at all.
    await expect(cluster.get({ apiVersion: "example.dev/v1", kind: "Widget", name: "w1", namespace: "team" })).rejects.toThrow(
      NotFoundError,
    );
  });

  it("reset() keeps what it did not make in the namespaces there were at create", async () => {
    await cluster.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "by-apply" } });
    await createByHand(await cluster.writeKubeconfig(), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: by-hand}\n");
    await cluster.reset();
    expect(await cluster.get("configmap/by-apply")).toBeUndefined();
    expect(await cluster.get("configmap/by-hand")).toBeDefined();
    await cluster.delete("configmap/by-hand");
    expect(await cluster.get("configmap/by-hand")).toBeUndefined();
    expect(await cluster.delete("configmap/by-hand")).toBe(false);
  });

  it("says what is wrong with a bad manifest, an unknown kind, or an object that never comes", async () => {
    await expect(cluster.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")).rejects.toThrow(
      new UsageError(
        "manifest text: not a Kubernetes object: ConfigMap has no metadata.name (server-side apply names every object)",
      ),
    );
    await expect(cluster.apply("kind: [\n")).rejects.toThrow(UsageError);
    await expect(cluster.apply("./no/such/dir")).rejects.toThrow(
      /manifest "\.\/no\/such\/dir": cannot read .*no such file or directory/,
    );
    await expect(cluster.apply("apiVersion: example.dev/v9\nkind: Gadget\nmetadata: {name: g}\n")).rejects.toThrow(
      new NotFoundError('Gadget g: the API serves no kind "Gadget" in example.dev/v9'),
    );
    await expect(cluster.waitFor("deploy/missing", "Available", { timeout: "1s" })).rejects.toThrow(TimeoutError);
    await expect(cluster.waitFor("deploy/missing", "Available", { timeout: "1s" })).rejects.toThrow(
      /Deployment default\/missing \(Available\).*it does not exist/,
    );
    await expect(cluster.waitFor("nonsense", "exists")).rejects.toThrow(UsageError);
    const aborted = new AbortController();
    aborted.abort();
    await expect(cluster.waitFor("deploy/missing", "exists", { signal: aborted.signal })).rejects.toThrow(/cancelled/);
    expect(() => cluster.url(8080)).toThrow(/publishes no port 8080/);
  });

  it("runs commands in nodes, reads their logs, imports images, and stops and starts the cluster", async () => {
    const name = cluster.name;
    expect(await cluster.exec("server-0", ["cat", "/etc/hostname"])).toEqual({
      exitCode: 0,
      stdout: `k3box-${name}-server-0\n`,
      stderr: "",
    });
    expect((await cluster.exec(`k3box-${name}-server-0`, ["sh", "-c", "exit 3"])).exitCode).toBe(3);
    await expect(cluster.exec("agent-7", ["true"])).rejects.toThrow(
      new NotFoundError(`cluster "${name}" has no node "agent-7" (its nodes: server-0, serverlb)`),
    );
    expect(await cluster.logs("server-0")).toContain("k3s is up and running");
    expect((await cluster.logs("loadbalancer", { tail: 1 })).split("\n")).toHaveLength(1);

    const imported = await cluster.importImages(["busybox:latest"]);
    expect(imported.nodes.map((n) => [n.node, n.status])).toEqual([[`k3box-${name}-server-0`, "imported"]]);

    await cluster.stop();
    const stopped = await docker(["inspect", "-f", "{{.State.Running}}", `k3box-${name}-server-0`]);
    expect(stopped.stdout.trim()).toBe("false");
    await cluster.start();
    expect((await cluster.exec("server-0", ["true"])).exitCode).toBe(0);
    await cluster.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "after-restart" } });
    expect(await cluster.waitFor("configmap/after-restart", "exists")).toBeDefined();
  });
});

describe("test processes", () => {
  it("a process killed with SIGKILL while holding a fixture: its reaper removes the cluster and its registry, then itself, within 30 s", async () => {
    const registry = uniqueName("reapreg");
    const { proc, info } = await child({ image: DOUBLE_IMAGE, prefix: "reap", registryCreate: registry }, "hold");
    const session = (await containerLabels(`k3box-${info.name}-server-0`))["dev.k3box.session"];
    const registryLeft = async () => (await docker(["ps", "-aq", "--filter", `name=^/k3box-${registry}$`])).stdout.trim();
    try {
      expect(await leftovers(info.name)).not.toEqual([]);
      expect((await containerLabels(`k3box-${registry}`))["dev.k3box.session"]).toBe(session);
      proc.kill("SIGKILL");
      await exited(proc);
      const killed = Date.now();
      // The reaper's bound: what it leaves after 30 s is a leak.
      let left = await leftovers(info.name);
      let reapers = "";
      let reg = "";
      while (Date.now() - killed < 30_000) {
        left = await leftovers(info.name);
        reapers = (await docker(["ps", "-aq", "--filter", `label=dev.k3box.reaper=${session}`])).stdout.trim();
        reg = await registryLeft();
        if (left.length === 0 && reapers === "" && reg === "") break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(left).toEqual([]);
      expect(reg).toBe("");
      expect(reapers).toBe("");
    } finally {
      proc.kill("SIGKILL");
      await deleteCluster(info.name, { ignoreMissing: true, kubeconfigPath: join(home, "none") });
      if ((await registryLeft()) !== "") await docker(["rm", "-f", "-v", `k3box-${registry}`]);
    }
  });

  it("reuse: a second process gets the same running cluster, disposal leaves it, and reset() clears the first one's objects", async () => {
    const options = { image: DOUBLE_IMAGE, prefix: "reuse", agents: 1, reuse: true, waitFor: "api" };
    let name = "";
    try {
      const first = await child(options, "dispose", "from-first");
      name = first.info.name;
      expect(name).toMatch(/^reuse-[0-9a-f]{12}$/);
      // It made the cluster: nothing was there to reuse yet.
      expect(first.info.reused).toBe(false);
      expect(await exited(first.proc)).toBe(0);
      expect((await docker(["inspect", "-f", "{{.State.Running}}", `k3box-${name}-agent-0`])).stdout.trim()).toBe("true");
      // No session label: no reaper removes a cluster meant to outlive its process.
      expect((await containerLabels(`k3box-${name}-server-0`))["dev.k3box.session"]).toBeUndefined();

      const second = await child(options, "dispose");
      expect(second.info).toMatchObject({ name, reused: true, server: first.info.server });
      expect(await exited(second.proc)).toBe(0);

      // Different options are a different cluster; a name taken by another is refused.
      await using again = await startCluster(options);
      expect(again.name).toBe(name);
      expect(await again.get("configmap/from-first")).toBeDefined();
      await again.reset();
      expect(await again.get("configmap/from-first")).toBeUndefined();
      await expect(startCluster({ ...options, agents: 0, name })).rejects.toThrow(ConflictError);
    } finally {
      if (name !== "") await deleteCluster(name, { ignoreMissing: true, kubeconfigPath: join(home, "none") });
    }
    expect(await leftovers(name)).toEqual([]);
  });
});
