import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { abortError } from "../../src/base/abort.js";
import { CancelledError, ConflictError, K3boxError, NotFoundError } from "../../src/base/errors.js";
import { UndoStack } from "../../src/core/undo.js";
import type { ContainerSpec, Runtime } from "../../src/runtime/types.js";
import { MemoryRuntime, STOPPED_EXIT_CODE, engineError } from "../support/memory-runtime/index.js";

const IMAGE = "k3box/node:test";

function engine(): MemoryRuntime {
  return new MemoryRuntime({ images: { [IMAGE]: { cmd: ["server"], volumes: ["/var/lib/data"] } } });
}

const spec = (name: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name,
  image: IMAGE,
  labels: { "dev.k3box.cluster": "c1" },
  network: "bridge",
  ...extra,
});

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of lines) out.push(l);
  return out;
}

describe("memory engine: failures on demand", () => {
  it("fails the nth matching call once, and lets the others through", async () => {
    const rt = engine();
    rt.failOn("createContainer", { nth: 2 });
    await rt.createContainer(spec("box-a"));
    const err = await rt.createContainer(spec("box-b")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(K3boxError);
    expect((err as Error).message).toBe("create container box-b: injected failure");
    await rt.createContainer(spec("box-c"));
    expect(rt.snapshot().containers).toEqual(["box-a", "box-c"]);
  });

  it("matches calls by the names they mention, and can fail every one of them until removed", async () => {
    const rt = engine();
    await rt.createContainer(spec("box-a"));
    await rt.createContainer(spec("box-b"));
    const stop = rt.failOn("startContainer", { match: "box-b", times: Infinity });
    await rt.startContainer("box-a");
    await expect(rt.startContainer("box-b")).rejects.toThrow(/injected failure/);
    await expect(rt.startContainer("box-b")).rejects.toThrow(/injected failure/);
    stop();
    await rt.startContainer("box-b");
    expect((await rt.inspectContainer("box-b"))?.running).toBe(true);
  });

  it("a typed error is given as it is; an engine answer maps as the Docker runtime maps it", async () => {
    const rt = engine();
    await rt.createContainer(spec("box-a"));
    const conflict = new ConflictError("port 6443 is taken");
    rt.failOn("startContainer", { error: conflict });
    expect(await rt.startContainer("box-a").catch((e: unknown) => e)).toBe(conflict);
    rt.failOn("startContainer", { error: engineError(404, "gone") });
    const notFound = await rt.startContainer("box-a").catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect((notFound as Error).message).toBe("start container box-a: gone");
    rt.failOn("startContainer", { error: engineError(500, "Bind for 0.0.0.0:80 failed: port is already allocated") });
    await expect(rt.startContainer("box-a")).rejects.toBeInstanceOf(ConflictError);
  });

  it("after: the engine makes the change and the call fails anyway, as when an answer is lost", async () => {
    const rt = engine();
    rt.failOn("createContainer", { when: "after" });
    await expect(rt.createContainer(spec("box-a"))).rejects.toThrow(/injected failure/);
    expect(rt.snapshot().containers).toEqual(["box-a"]);
    expect(rt.journal.map((e) => [e.method, e.applied, e.error?.message])).toEqual([
      ["createContainer", true, "create container box-a: injected failure"],
    ]);
  });

  it("a test on the call picks what fails", async () => {
    const rt = engine();
    await rt.createContainer(spec("box-a"));
    await rt.startContainer("box-a");
    rt.failOn("exec", { match: (call) => (call.args[1] as string[])[0] === "ctr", times: Infinity });
    rt.onExec("box-a", ["ctr", "version"], () => ({ stdout: "1.7" }));
    rt.onExec("box-a", ["true"], () => ({}));
    await expect(rt.exec("box-a", ["ctr", "version"])).rejects.toThrow(/exec ctr in box-a: injected failure/);
    expect(await rt.exec("box-a", ["true"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  });
});

describe("memory engine: hooks at each call", () => {
  it("see every call in order, with the names it mentions", async () => {
    const rt = engine();
    const seen: string[] = [];
    rt.onCall("*", (call) => void seen.push(`${call.seq} ${call.method} ${call.names.join(",")}`));
    await rt.createNetwork({ name: "net", labels: {} });
    await rt.createContainer(spec("box-a", { network: "net" }));
    await rt.inspectContainer("box-a");
    await rt.connectNetwork("bridge", "box-a", []);
    expect(seen).toEqual([
      "1 createNetwork net",
      "2 createContainer box-a",
      "3 inspectContainer box-a",
      "4 connectNetwork bridge,box-a",
    ]);
    expect(rt.calls.map((c) => c.method)).toEqual(["createNetwork", "createContainer", "inspectContainer", "connectNetwork"]);
  });

  it("an abort as a creation begins does not stop it: the caller gets the result and can record its undo", async () => {
    const rt = engine();
    const ac = new AbortController();
    rt.onCall("createContainer", () => ac.abort());
    expect(await rt.createContainer(spec("box-a"), ac.signal)).toMatch(/^[0-9a-f]{64}$/);
    expect(rt.snapshot().containers).toEqual(["box-a"]);
  });

  it("an abort as a guarded call begins answers CancelledError, the engine not having done it", async () => {
    const rt = engine();
    await rt.createContainer(spec("box-a"));
    const ac = new AbortController();
    rt.onCall("removeContainer", () => ac.abort());
    await expect(rt.removeContainer("box-a", ac.signal)).rejects.toBeInstanceOf(CancelledError);
    expect(rt.snapshot().containers).toEqual(["box-a"]);
  });

  it("an abort once the engine did a guarded call answers CancelledError all the same: the work is done", async () => {
    const rt = engine();
    await rt.createContainer(spec("box-a"));
    const ac = new AbortController();
    rt.onCall("removeContainer", () => ac.abort(), "after");
    await expect(rt.removeContainer("box-a", ac.signal)).rejects.toBeInstanceOf(CancelledError);
    expect(rt.snapshot().containers).toEqual([]);
    expect(rt.journal.at(-1)).toMatchObject({ method: "removeContainer", applied: true, error: expect.any(CancelledError) });
  });

  it("a guarded call waiting in a hook is answered as soon as the signal aborts", async () => {
    const rt = engine();
    const ac = new AbortController();
    let release = () => {};
    rt.onCall("listContainers", () => new Promise<void>((r) => (release = r)));
    const listing = rt.listContainers({}, ac.signal);
    ac.abort();
    await expect(listing).rejects.toBeInstanceOf(CancelledError);
    release();
  });
});

describe("memory engine: journal and what is left", () => {
  it("the journal lists the changes in order, leaving reads out and marking what failed", async () => {
    const rt = engine();
    await rt.createNetwork({ name: "net", labels: {} });
    await rt.createVolume({ name: "vol", labels: {} });
    await rt.createContainer(spec("box-a", { network: "net", mounts: [{ type: "volume", source: "vol", target: "/v" }] }));
    await rt.listContainers({});
    await expect(rt.removeVolume("vol")).rejects.toBeInstanceOf(ConflictError);
    await rt.removeContainer("box-a");
    await rt.removeVolume("vol");
    await rt.removeNetwork("net");
    expect(rt.changes()).toEqual([
      "createNetwork net",
      "createVolume vol",
      "createContainer box-a",
      "removeContainer box-a",
      "removeVolume vol",
      "removeNetwork net",
    ]);
    expect(rt.journal.filter((e) => !e.applied).map((e) => [e.method, e.error?.constructor.name])).toEqual([
      ["removeVolume", "ConflictError"],
    ]);
  });

  it("a new engine is empty but for its built-in networks and images; anonymous volumes count until their container goes", async () => {
    const rt = engine();
    expect(rt.isEmpty()).toBe(true);
    expect((await rt.listNetworks({})).map((n) => n.name).sort()).toEqual(["bridge", "host", "none"]);
    await rt.createNetwork({ name: "net", labels: {} });
    await rt.createContainer(spec("box-a", { network: "net" }));
    const snapshot = rt.snapshot();
    expect(snapshot.containers).toEqual(["box-a"]);
    expect(snapshot.networks).toEqual(["net"]);
    // The image declares a VOLUME: the container gets an anonymous one.
    expect(snapshot.volumes).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(rt.isEmpty()).toBe(false);
    await rt.removeContainer("box-a");
    await rt.removeNetwork("net");
    expect(rt.snapshot()).toEqual({ containers: [], networks: [], volumes: [] });
    expect(rt.isEmpty()).toBe(true);
    expect(rt.images()).toEqual([IMAGE]);
  });
});

/** What a k3box operation does, in miniature: each thing it makes pushes its undo; a failure unwinds. */
async function createNode(rt: Runtime, signal?: AbortSignal): Promise<void> {
  const undo = new UndoStack();
  try {
    await rt.createNetwork({ name: "net", labels: {} }, signal);
    undo.push("remove network", () => rt.removeNetwork("net"));
    await rt.createVolume({ name: "data", labels: {} }, signal);
    undo.push("remove volume", () => rt.removeVolume("data"));
    await rt.createContainer(
      spec("node", { network: "net", mounts: [{ type: "volume", source: "data", target: "/data" }] }),
      signal,
    );
    undo.push("remove container", () => rt.removeContainer("node"));
    await rt.putFiles("node", [{ path: "/etc/k3box/config.yaml", content: "a: 1\n" }], signal);
    await rt.startContainer("node", signal);
    for await (const line of rt.logs("node", { follow: true }, signal)) if (line === "ready") break;
    if (signal?.aborted) throw abortError(signal, "create node");
    undo.clear();
  } catch (err) {
    const failures = await undo.unwind();
    if (failures.length > 0) throw new Error(`rollback failed: ${failures.map((f) => f.what).join(", ")}`);
    throw err;
  }
}

describe("memory engine: a failure or a Ctrl-C at every step", () => {
  const withProgram = () => {
    const rt = engine();
    rt.program("node", (ctx) => ctx.log("starting", "ready"));
    return rt;
  };

  it("the operation succeeds untouched, in a known number of calls", async () => {
    const rt = withProgram();
    await createNode(rt);
    expect(rt.snapshot().containers).toEqual(["node"]);
    expect(rt.calls).toHaveLength(6);
  });

  it("a failure at any step is rolled back, newest first, and leaves the engine empty", async () => {
    for (let step = 1; step <= 6; step++) {
      const rt = withProgram();
      rt.failOn("*", { match: (call) => call.seq === step });
      await expect(createNode(rt), `step ${step}`).rejects.toThrow(/injected failure/);
      expect(rt.isEmpty(), `step ${step}: ${JSON.stringify(rt.snapshot())}`).toBe(true);
      const undone = rt.changes().filter((c) => c.startsWith("remove"));
      expect(undone, `step ${step}`).toEqual(
        ["removeContainer node", "removeVolume data", "removeNetwork net"].slice(3 - Math.min(step - 1, 3)),
      );
    }
  });

  it("a Ctrl-C at any step, even while a creation is under way, leaves the engine empty", async () => {
    for (let step = 1; step <= 6; step++) {
      for (const when of ["before", "after"] as const) {
        const rt = withProgram();
        const ac = new AbortController();
        rt.onCall("*", (call) => (call.seq === step ? ac.abort() : undefined), when);
        await expect(createNode(rt, ac.signal), `step ${step} ${when}`).rejects.toBeInstanceOf(CancelledError);
        expect(rt.isEmpty(), `step ${step} ${when}: ${JSON.stringify(rt.snapshot())}`).toBe(true);
      }
    }
  });
});

describe("memory engine: what runs in containers", () => {
  it("a program runs at every start; a stop ends it with 143 unless it exits with a code of its own", async () => {
    const rt = engine();
    let starts = 0;
    rt.program(/^node-/, (ctx) => {
      starts++;
      ctx.log(`start ${starts} of ${ctx.container}`);
      ctx.signal.addEventListener("abort", () => {
        if (starts === 2) ctx.exit(0);
      });
    });
    await rt.createContainer(spec("node-0"));
    await rt.startContainer("node-0");
    await rt.stopContainer("node-0");
    expect((await rt.inspectContainer("node-0"))?.exitCode).toBe(STOPPED_EXIT_CODE);
    await rt.startContainer("node-0");
    await rt.stopContainer("node-0");
    expect((await rt.inspectContainer("node-0"))?.exitCode).toBe(0);
    expect(await collect(rt.logs("node-0", { follow: false }))).toEqual(["start 1 of node-0", "start 2 of node-0"]);
  });

  it("a program that throws, or a test that says so, ends the run with a code; followers of the log end with it", async () => {
    const rt = engine();
    rt.program("crash", () => {
      throw new Error("boom");
    });
    await rt.createContainer(spec("crash"));
    await rt.startContainer("crash");
    expect(await rt.inspectContainer("crash")).toMatchObject({ state: "exited", exitCode: 1 });
    await rt.createContainer(spec("job"));
    await rt.startContainer("job");
    const following = collect(rt.logs("job", { follow: true }));
    rt.log("job", "working");
    rt.exitContainer("job", 2);
    expect(await following).toEqual(["working"]);
    expect(await rt.inspectContainer("job")).toMatchObject({ state: "exited", exitCode: 2 });
  });

  it("a later program waits for its moment: lines logged after an await reach a follower", async () => {
    const rt = engine();
    rt.program("slow", async (ctx) => {
      await new Promise((r) => setTimeout(r, 20));
      ctx.log("k3s is up and running");
    });
    await rt.createContainer(spec("slow"));
    await rt.startContainer("slow");
    for await (const line of rt.logs("slow", { follow: true })) {
      expect(line).toBe("k3s is up and running");
      break;
    }
  });

  it("exec answers from the latest matching handler, which sees stdin, the files and the log", async () => {
    const rt = engine();
    await rt.createContainer(spec("lb"));
    await rt.startContainer("lb");
    expect(await rt.exec("lb", ["nginx", "-t"])).toMatchObject({ exitCode: 126 });
    rt.onExec(/./, ["nginx", "-t"], () => ({ exitCode: 1, stderr: "bad config" }));
    rt.onExec("lb", ["nginx", "-t"], ({ files }) =>
      files.exists("/etc/nginx/nginx.conf") ? {} : { exitCode: 1, stderr: "no config" },
    );
    expect(await rt.exec("lb", ["nginx", "-t"])).toEqual({ exitCode: 1, stdout: "", stderr: "no config" });
    await rt.putFiles("lb", [{ path: "/etc/nginx/nginx.conf", content: "events {}" }]);
    expect((await rt.exec("lb", ["nginx", "-t"])).exitCode).toBe(0);
    rt.onExec(
      "lb",
      (argv) => argv[0] === "import",
      ({ stdin, log, files }) => {
        files.write({ path: "/imported", content: stdin ?? "" });
        log("reconfiguring");
        return { stdout: `${stdin?.length ?? 0} bytes` };
      },
    );
    expect((await rt.exec("lb", ["import", "-"], { stdin: Readable.from([Buffer.from("abc")]) })).stdout).toBe("3 bytes");
    expect(await rt.readFile("lb", "/imported")).toEqual(Buffer.from("abc"));
    expect(await collect(rt.logs("lb", { follow: false }))).toEqual(["reconfiguring"]);
  });

  it("bind mounts share one host tree between containers; the files control reads what k3box wrote", async () => {
    const rt = engine();
    const bind = { type: "bind" as const, source: "/srv/shared", target: "/mnt" };
    await rt.createContainer(spec("box-a", { mounts: [bind] }));
    await rt.createContainer(spec("box-b", { mounts: [{ ...bind, target: "/other" }] }));
    await rt.putFiles("box-a", [{ path: "/mnt/x", content: "shared" }]);
    expect(await rt.readFile("box-b", "/other/x")).toEqual(Buffer.from("shared"));
    expect(rt.files("box-b").read("/other/x").content.toString()).toBe("shared");
    expect(rt.files("box-a").exists("/x")).toBe(false);
  });

  it("DNS answers names, short IDs and aliases of running containers on the networks they share", async () => {
    const rt = engine();
    await rt.createNetwork({ name: "net", labels: {} });
    const id = await rt.createContainer(spec("server-0", { network: "net", networkAliases: ["api"] }));
    await rt.createContainer(spec("agent-0", { network: "net" }));
    await rt.startContainer("agent-0");
    expect(rt.resolve("agent-0", "api")).toEqual([]);
    await rt.startContainer("server-0");
    const ip = (await rt.inspectContainer("server-0"))?.networks.net?.ip;
    expect(ip).toMatch(/^172\.18\.0\.\d+$/);
    for (const name of ["api", "server-0", "SERVER-0", id.slice(0, 12)]) expect(rt.resolve("agent-0", name)).toEqual([ip]);
  });
});

describe("memory engine: images", () => {
  it("a build reads FROM with its ARG, and the configuration lines; it is recorded with what it was given", async () => {
    const rt = engine();
    const dockerfile = [
      "ARG K3S_IMAGE=docker.io/rancher/k3s:v1",
      "FROM ${K3S_IMAGE}",
      "COPY entry.sh /bin/entry.sh",
      'ENV A=1 B="two words"',
      "LABEL from.dockerfile=yes",
      'ENTRYPOINT ["/bin/entry.sh"]',
      'CMD ["agent"]',
    ].join("\n");
    const build = {
      tag: "k3box/node:v1",
      labels: { "dev.k3box.managed": "true" },
      buildArgs: { K3S_IMAGE: IMAGE },
      context: [{ path: "Dockerfile", content: dockerfile }],
    };
    const lines: string[] = [];
    await rt.buildImage(build, (l) => lines.push(l));
    expect(lines.at(-1)).toBe("Successfully tagged k3box/node:v1");
    expect(rt.builds.map((b) => b.build)).toEqual([build]);
    await rt.createContainer(spec("box-n", { image: "k3box/node:v1" }));
    const info = await rt.inspectContainer("box-n");
    expect(info?.labels).toMatchObject({ "dev.k3box.managed": "true", "from.dockerfile": "yes", "dev.k3box.cluster": "c1" });
    expect(info?.env).toEqual({ A: "1", B: "two words" });
    expect(info?.spec).toMatchObject({ entrypoint: ["/bin/entry.sh"], cmd: ["agent"] });
    // The base image's VOLUME carries over.
    expect(info?.mounts.map((m) => m.target)).toEqual(["/var/lib/data"]);
    await expect(
      rt.buildImage({ ...build, context: [{ path: "Dockerfile", content: `FROM ${IMAGE}\nFROBNICATE x\n` }] }),
    ).rejects.toThrow(/unknown instruction: FROBNICATE/);
  });

  it("a pull fetches from the registry stand-in and reports up to date the second time", async () => {
    const rt = new MemoryRuntime({ registry: { "rancher/k3s:v1": {} } });
    const statuses: string[] = [];
    await rt.pullImage("docker.io/rancher/k3s:v1", (p) => statuses.push(p.status));
    await rt.pullImage("rancher/k3s:v1", (p) => statuses.push(p.status));
    expect(statuses.filter((s) => s.startsWith("Status:"))).toEqual([
      "Status: Downloaded newer image for rancher/k3s:v1",
      "Status: Image is up to date for rancher/k3s:v1",
    ]);
    expect(rt.images()).toEqual(["rancher/k3s:v1"]);
  });
});
