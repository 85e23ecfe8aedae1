/**
 * The Runtime contract as tests: one text, run against the Docker engine (e2e) and the memory
 * engine (unit), so that what unit tests learn from the memory engine holds on Docker.
 *
 * Where only a real engine can do something (run busybox, resolve names in its DNS, pull from a
 * registry), the target says how: the Docker target lets the real thing happen, the memory
 * target is scripted to do what busybox does. The assertions are the same on both sides.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import getPort from "get-port";
import tar from "tar-stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, ConflictError, K3boxError, NotFoundError, TimeoutError } from "../../src/base/errors.js";
import type { ContainerInfo, ContainerSpec, ExecResult, Labels, Runtime } from "../../src/runtime/types.js";

/** What a container's main process does at each start. */
export interface ProcessScript {
  /** Printed one per line, in order. */
  readonly lines: readonly string[];
  /** Then it exits with this code; without one it runs until stopped. */
  readonly exitCode?: number;
}

/** What a command answers, given its input and the call's signal (busybox's behaviour, for scripting). */
export type ExecAnswer = (stdin: Buffer | undefined, signal: AbortSignal | undefined) => ExecResult | Promise<ExecResult>;

export interface ContractTarget {
  readonly runtime: Runtime;
  /** A local image with busybox's sh at /bin/sh, for containers that must run. */
  readonly image: string;
  /** Makes a container's process do what the script says, where the engine does not run it. */
  scriptProcess?(container: string, script: ProcessScript): void;
  /** Makes `argv` in a container answer as busybox would, where the engine does not run it. */
  scriptExec?(container: string, argv: readonly string[], answer: ExecAnswer): void;
  /** The addresses `name` resolves to from inside the running container `from`. */
  resolve(from: string, name: string): Promise<string[]>;
  /** An image a pull can fetch (not present yet), and a name the same registry does not have. */
  registry(): Promise<{ readonly pullable: string; readonly missing: string }>;
  /** Removes an image the contract built or pulled; the Runtime has no call for it. */
  removeImage(ref: string): Promise<void>;
  /** Removes anything still there whose name starts with the contract's prefix, whatever happened. */
  cleanup(): Promise<void>;
}

export interface ContractContext {
  /** Every container, network, volume and image tag the contract makes starts with it. */
  readonly prefix: string;
  /** On everything the contract makes. */
  readonly labels: Labels;
}

/** A process's stop ends it with SIGTERM: 128 + 15. The contract's containers run under an init that passes the signal on. */
const STOPPED = 143;
const ANY_ID = /^[0-9a-f]{64}$/;

/** The argv of a busybox shell that does what the script says; the lines go in as arguments. */
function processEntrypoint(script: ProcessScript): string[] {
  const end = script.exitCode === undefined ? "exec sleep 3600" : `exit ${script.exitCode}`;
  return ["sh", "-c", `for l in "$@"; do echo "$l"; done; ${end}`, "sh", ...script.lines];
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of lines) out.push(l);
  return out;
}

/** Polls until `check` holds; a real process takes a moment to print or exit. */
async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ipv4(ip: string): number {
  return ip.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}

function inSubnet(ip: string, subnet: string): boolean {
  const [base = "", bits = "32"] = subnet.split("/");
  const block = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / block) === Math.floor(ipv4(base) / block);
}

/** The gateway Docker gives a pool subnet: its first address. */
function firstAddress(subnet: string): string {
  const [base = ""] = subnet.split("/");
  const n = ipv4(base) + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The entries of a tar stream, by name. */
async function untar(stream: Readable): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on("entry", (header, body, next) => {
    const chunks: Buffer[] = [];
    body.on("data", (c: unknown) => chunks.push(c as Buffer));
    body.on("end", () => {
      files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on("finish", resolve).on("error", reject);
    stream.pipe(extract);
  });
  return files;
}

export function runtimeContract(name: string, setup: (ctx: ContractContext) => Promise<ContractTarget> | ContractTarget): void {
  const prefix = `k3box-ct-${randomBytes(3).toString("hex")}`;
  const labels: Labels = { "io.k3box.test": "1", "io.k3box.test.run": prefix };
  let t: ContractTarget;
  let rt: Runtime;
  let counter = 0;
  const unique = (what: string) => `${prefix}-${what}-${++counter}`;

  /** What the running test may have made, removed after it whatever happened; the target's cleanup is the last resort. */
  const made = { containers: [] as string[], networks: [] as string[], volumes: [] as string[], images: [] as string[] };
  const track = (kind: keyof typeof made, name: string) => {
    made[kind].push(name);
    return name;
  };
  const container = (what: string) => track("containers", unique(what));
  const network = () => track("networks", unique("net"));
  const volume = () => track("volumes", unique("vol"));
  const image = (what: string) => track("images", `k3box-test/${prefix}-${what}:1`);
  const createdNetwork = async () => {
    const n = network();
    await rt.createNetwork({ name: n, labels });
    return n;
  };

  const spec = (containerName: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    name: containerName,
    image: t.image,
    labels,
    network: "bridge",
    ...extra,
  });

  /** Creates a container whose process follows the script. */
  async function createProcess(
    containerName: string,
    script: ProcessScript,
    extra: Partial<ContainerSpec> = {},
  ): Promise<string> {
    t.scriptProcess?.(containerName, script);
    return rt.createContainer(spec(containerName, { entrypoint: processEntrypoint(script), init: true, ...extra }));
  }

  /**
   * Creates and starts; a process that keeps running is waited for until it printed its lines,
   * since a stop sent before the container's init set up its signal handling is lost (and the stop
   * waits out its timeout, ending with 137).
   */
  async function startProcess(containerName: string, script: ProcessScript, extra: Partial<ContainerSpec> = {}): Promise<void> {
    await createProcess(containerName, script, extra);
    await rt.startContainer(containerName);
    if (script.exitCode === undefined) await logged(containerName, script.lines.length);
  }

  const inspect = async (n: string): Promise<ContainerInfo> => {
    const info = await rt.inspectContainer(n);
    if (info === undefined) throw new Error(`${n} does not exist`);
    return info;
  };
  const exited = (n: string) =>
    eventually(
      `${n} exits`,
      () => inspect(n),
      (i) => !i.running,
    );
  const logged = (n: string, count: number) =>
    eventually(
      `${n} prints ${count} lines`,
      () => collect(rt.logs(n, { follow: false })),
      (l) => l.length >= count,
    );

  describe(`${name}: the Runtime contract`, () => {
    beforeAll(async () => {
      t = await setup({ prefix, labels });
      rt = t.runtime;
    });
    afterEach(async () => {
      for (const c of made.containers.splice(0)) await rt.removeContainer(c);
      for (const n of made.networks.splice(0)) await rt.removeNetwork(n);
      for (const v of made.volumes.splice(0)) await rt.removeVolume(v);
      for (const i of made.images.splice(0)) await t.removeImage(i);
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    describe("engine and images", () => {
      it("info names the engine and its operating system", async () => {
        const info = await rt.info();
        expect(info.name).not.toBe("");
        expect(info.version).not.toBe("");
        expect(info.os).toBe("linux");
      });

      it("an image is found under each of its names; an unknown one is not, and a malformed name is an engine error", async () => {
        const [repo] = t.image.split(":");
        for (const ref of [t.image, repo as string, `docker.io/library/${t.image}`]) expect(await rt.imageExists(ref)).toBe(true);
        expect(await rt.imageExists(`${prefix}-unknown:1`)).toBe(false);
        const info = await rt.inspectImage(t.image);
        expect(info?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(info?.tags).toContain(t.image);
        expect(info?.os).toBe("linux");
        expect(info?.size).toBeGreaterThan(0);
        expect(await rt.inspectImage(`${prefix}-unknown:1`)).toBeUndefined();
        const bad = await rt.imageExists("UPPER-case:1").catch((e: unknown) => e);
        expect(bad).toBeInstanceOf(K3boxError);
        expect(bad).not.toBeInstanceOf(NotFoundError);
      });

      it("a pull fetches what the registry has, reporting progress; a name it does not have is NotFoundError", async () => {
        const { pullable, missing } = await t.registry();
        track("images", pullable);
        expect(await rt.imageExists(pullable)).toBe(false);
        const progress: string[] = [];
        await rt.pullImage(pullable, (p) => {
          expect(p.image).toBe(pullable);
          progress.push(p.status);
        });
        expect(await rt.imageExists(pullable)).toBe(true);
        expect(progress.at(-1)).toMatch(/^Status: Downloaded newer image for /);
        await expect(rt.pullImage(missing)).rejects.toBeInstanceOf(NotFoundError);
      });

      it("a build tags an image from a Dockerfile and its build args; its labels reach the containers made from it", async () => {
        const tag = image("built");
        const dockerfile = `ARG BASE=none\nFROM \${BASE}\nRUN true\nCMD ["sh"]\n`;
        const lines: string[] = [];
        await rt.buildImage(
          {
            tag,
            labels: { ...labels, "io.k3box.test.built": "yes" },
            buildArgs: { BASE: t.image },
            context: [{ path: "Dockerfile", content: dockerfile }],
          },
          (l) => lines.push(l),
        );
        expect(lines.some((l) => l.includes("FROM"))).toBe(true);
        expect((await rt.inspectImage(tag))?.tags).toEqual([tag]);
        const c = container("from-built");
        await rt.createContainer({ name: c, image: tag, labels, network: "bridge" });
        const info = await inspect(c);
        expect(info.labels["io.k3box.test.built"]).toBe("yes");
        expect(info.spec.cmd).toEqual(["sh"]);
      });

      it("a build fails with an engine error when the Dockerfile is missing or its base image is unknown", async () => {
        const tag = image("broken");
        const noDockerfile = await rt
          .buildImage({ tag, labels, context: [{ path: "README", content: "" }] })
          .catch((e: unknown) => e);
        expect(noDockerfile).toBeInstanceOf(K3boxError);
        const unknownBase = await rt
          .buildImage({ tag, labels, context: [{ path: "Dockerfile", content: `FROM ${prefix}-unknown-base:1\n` }] })
          .catch((e: unknown) => e);
        expect(unknownBase).toBeInstanceOf(K3boxError);
        expect(await rt.imageExists(tag)).toBe(false);
      });

      it("saveImages streams a docker archive whose manifest names the images; an unknown image is NotFoundError", async () => {
        const files = await untar(await rt.saveImages([t.image]));
        const manifest = JSON.parse(files.get("manifest.json")?.toString() ?? "[]") as Array<{
          Config: string;
          RepoTags: string[];
        }>;
        expect(manifest.flatMap((m) => m.RepoTags)).toEqual([t.image]);
        const config = JSON.parse(files.get(manifest[0]?.Config ?? "")?.toString() ?? "{}") as { os?: string };
        expect(config.os).toBe("linux");
        await expect(rt.saveImages([`${prefix}-unknown:1`])).rejects.toBeInstanceOf(NotFoundError);
      });

      it("loadImages puts back what saveImages wrote, under its names; what is no image archive is an engine error", async () => {
        const tag = image("loaded");
        await rt.buildImage({ tag, labels, context: [{ path: "Dockerfile", content: `FROM ${t.image}\nLABEL loaded=yes\n` }] });
        const id = (await rt.inspectImage(tag))?.id;
        const chunks: Buffer[] = [];
        for await (const chunk of await rt.saveImages([tag])) chunks.push(chunk as Buffer);
        await t.removeImage(tag);
        expect(await rt.imageExists(tag)).toBe(false);
        expect(await rt.loadImages(Readable.from([Buffer.concat(chunks)]))).toEqual([tag]);
        expect((await rt.inspectImage(tag))?.id).toBe(id);
        const notAnArchive = await rt.loadImages(Readable.from([Buffer.alloc(2048, 7)])).catch((e: unknown) => e);
        expect(notAnArchive).toBeInstanceOf(K3boxError);
        expect(notAnArchive).not.toBeInstanceOf(NotFoundError);
      });
    });

    describe("networks", () => {
      it("a network gets a subnet and gateway, is found by inspect and by its labels, and only by all of them", async () => {
        const n = network();
        const own = { ...labels, "io.k3box.test.role": "a", "io.k3box.test.empty": "" };
        const created = await rt.createNetwork({ name: n, labels: own });
        expect(created).toMatchObject({ name: n, labels: own, containers: [] });
        expect(created.id).toMatch(ANY_ID);
        expect(created.gateway).toBe(firstAddress(created.subnet ?? ""));
        expect(await rt.inspectNetwork(n)).toEqual(created);
        const names = async (selector: Labels) => (await rt.listNetworks(selector)).map((x) => x.name);
        expect(await names(own)).toEqual([n]);
        expect(await names({ "io.k3box.test.run": prefix, "io.k3box.test.role": "a" })).toEqual([n]);
        // An empty value asks only that the label be there, whatever its value.
        expect(await names({ "io.k3box.test.run": prefix, "io.k3box.test.role": "" })).toEqual([n]);
        expect(await names({ "io.k3box.test.run": prefix, "io.k3box.test.role": "b" })).toEqual([]);
        expect(await names({ "io.k3box.test.run": prefix, "io.k3box.test.other": "" })).toEqual([]);
        // The list does not say which containers are attached; inspect does.
        expect((await rt.listNetworks(own))[0]?.containers).toEqual([]);
        await rt.removeNetwork(n);
        expect(await rt.inspectNetwork(n)).toBeUndefined();
      });

      it("a name in use is ConflictError; an overlapping subnet is an engine error; a free subnet is taken as given, without a gateway", async () => {
        const a = network();
        const b = network();
        const first = await rt.createNetwork({ name: a, labels });
        await expect(rt.createNetwork({ name: a, labels })).rejects.toBeInstanceOf(ConflictError);
        const subnet = first.subnet as string;
        const overlap = await rt.createNetwork({ name: b, labels, subnet }).catch((e: unknown) => e);
        expect(overlap).toBeInstanceOf(K3boxError);
        expect(overlap).not.toBeInstanceOf(ConflictError);
        expect((overlap as Error).message).toMatch(/overlaps/);
        await rt.removeNetwork(a);
        const second = await rt.createNetwork({ name: b, labels, subnet });
        expect(second.subnet).toBe(subnet);
        // Docker reports a gateway only for a subnet it picked itself.
        expect(second.gateway).toBeUndefined();
      });

      it("removing a missing network is not an error, nor is a pre-defined one removable", async () => {
        await expect(rt.removeNetwork(unique("missing"))).resolves.toBeUndefined();
        const builtin = await rt.removeNetwork("bridge").catch((e: unknown) => e);
        expect(builtin).toBeInstanceOf(K3boxError);
        expect(builtin).not.toBeInstanceOf(NotFoundError);
        expect(await rt.inspectNetwork("bridge")).toBeDefined();
      });

      it("only running containers count on a network: they are listed, have an address, and keep it from removal", async () => {
        const n = network();
        const c = container("on-net");
        const net = await rt.createNetwork({ name: n, labels });
        await createProcess(c, { lines: ["up"] }, { network: n });
        expect((await rt.inspectNetwork(n))?.containers).toEqual([]);
        expect((await inspect(c)).networks).toEqual({ [n]: { ip: "" } });
        await rt.startContainer(c);
        expect((await rt.inspectNetwork(n))?.containers).toEqual([c]);
        const ip = (await inspect(c)).networks[n]?.ip ?? "";
        expect(inSubnet(ip, net.subnet ?? "")).toBe(true);
        expect(ip).not.toBe(net.gateway);
        // Docker answers 403 "has active endpoints": not a ConflictError.
        const inUse = await rt.removeNetwork(n).catch((e: unknown) => e);
        expect(inUse).toBeInstanceOf(K3boxError);
        expect(inUse).not.toBeInstanceOf(ConflictError);
        expect((inUse as Error).message).toMatch(/active endpoints/);
        await rt.stopContainer(c);
        expect((await inspect(c)).networks).toEqual({ [n]: { ip: "" } });
        // A stopped container does not hold the network: it goes, and the container cannot start again.
        await rt.removeNetwork(n);
        expect(await rt.inspectNetwork(n)).toBeUndefined();
        expect((await inspect(c)).networks).toEqual({ [n]: { ip: "" } });
        await expect(rt.startContainer(c)).rejects.toBeInstanceOf(NotFoundError);
      });

      it("connect gives a container names on another network; disconnect takes them away; repeats are engine errors", async () => {
        const [n1, n2] = [await createdNetwork(), await createdNetwork()];
        const [a, b] = [container("a"), container("b")];
        await startProcess(a, { lines: ["up"] }, { network: n1, networkAliases: ["first-alias"] });
        await startProcess(b, { lines: ["up"] }, { network: n2 });
        expect(await t.resolve(b, "second-alias")).toEqual([]);
        await rt.connectNetwork(n2, a, ["second-alias"]);
        const ip = (await inspect(a)).networks[n2]?.ip ?? "";
        expect(ip).not.toBe("");
        expect(await t.resolve(b, "second-alias")).toEqual([ip]);
        expect(await t.resolve(b, a)).toEqual([ip]);
        // An alias holds on the network it was given on only.
        expect(await t.resolve(b, "first-alias")).toEqual([]);
        expect((await inspect(a)).spec.networkAliases).toEqual(["first-alias"]);
        const again = await rt.connectNetwork(n2, a, ["second-alias"]).catch((e: unknown) => e);
        expect(again).toBeInstanceOf(K3boxError);
        expect(again).not.toBeInstanceOf(ConflictError);
        await rt.disconnectNetwork(n2, a);
        expect(Object.keys((await inspect(a)).networks)).toEqual([n1]);
        expect(await t.resolve(b, "second-alias")).toEqual([]);
        // Not connected: an engine error; a container or network that does not exist: nothing to do, or NotFoundError.
        const notConnected = await rt.disconnectNetwork(n2, a).catch((e: unknown) => e);
        expect(notConnected).toBeInstanceOf(K3boxError);
        expect(notConnected).not.toBeInstanceOf(NotFoundError);
        await expect(rt.disconnectNetwork(n2, unique("missing"))).resolves.toBeUndefined();
        await expect(rt.connectNetwork(n2, unique("missing"), [])).rejects.toBeInstanceOf(NotFoundError);
        await expect(rt.connectNetwork(unique("missing"), a, [])).rejects.toBeInstanceOf(NotFoundError);
      });

      it("a container not running can be connected twice, the first aliases holding; aliases on the default bridge are refused", async () => {
        const [n1, n2] = [await createdNetwork(), await createdNetwork()];
        const [a, b] = [container("a"), container("b")];
        await createProcess(a, { lines: ["up"] }, { network: n1 });
        await rt.connectNetwork(n2, a, ["kept"]);
        await rt.connectNetwork(n2, a, ["dropped"]);
        expect((await inspect(a)).networks).toEqual({ [n1]: { ip: "" }, [n2]: { ip: "" } });
        const onBridge = await rt.connectNetwork("bridge", a, ["x"]).catch((e: unknown) => e);
        expect(onBridge).toBeInstanceOf(K3boxError);
        expect((onBridge as Error).message).toMatch(/user defined networks/);
        await rt.startContainer(a);
        await startProcess(b, { lines: ["up"] }, { network: n2 });
        const ip = (await inspect(a)).networks[n2]?.ip ?? "";
        expect(ip).not.toBe("");
        expect(await t.resolve(b, "kept")).toEqual([ip]);
        expect(await t.resolve(b, "dropped")).toEqual([]);
      });
    });

    describe("volumes", () => {
      it("a volume is listed by its labels until removed; creating it again keeps its first labels; removing it twice is fine", async () => {
        const v = volume();
        await rt.createVolume({ name: v, labels: { ...labels, "io.k3box.test.role": "a" } });
        expect(await rt.listVolumes({ ...labels, "io.k3box.test.role": "a" })).toEqual([v]);
        expect(await rt.inspectVolume(v)).toEqual({ name: v, labels: { ...labels, "io.k3box.test.role": "a" } });
        expect(await rt.inspectVolume(unique("no-such-volume"))).toBeUndefined();
        expect(await rt.listVolumes({ ...labels, "io.k3box.test.role": "" })).toEqual([v]);
        expect(await rt.listVolumes({ ...labels, "io.k3box.test.role": "b" })).toEqual([]);
        await rt.createVolume({ name: v, labels: { ...labels, "io.k3box.test.role": "b" } });
        expect(await rt.listVolumes({ ...labels, "io.k3box.test.role": "b" })).toEqual([]);
        expect(await rt.listVolumes({ ...labels, "io.k3box.test.role": "a" })).toEqual([v]);
        await rt.removeVolume(v);
        expect(await rt.listVolumes(labels)).not.toContain(v);
        await expect(rt.removeVolume(v)).resolves.toBeUndefined();
      });

      it("a volume mounted by any container, even one never started, is in use: ConflictError", async () => {
        const v = volume();
        const c = container("user");
        await rt.createVolume({ name: v, labels });
        await rt.createContainer(spec(c, { mounts: [{ type: "volume", source: v, target: "/data" }] }));
        await expect(rt.removeVolume(v)).rejects.toBeInstanceOf(ConflictError);
        expect(await rt.listVolumes(labels)).toContain(v);
        await rt.removeContainer(c);
        await rt.removeVolume(v);
        expect(await rt.listVolumes(labels)).not.toContain(v);
      });

      it("a mount of a volume that does not exist makes it; removing the container takes its anonymous volumes, not named ones", async () => {
        const named = volume();
        const c = container("mounts");
        const readOnlyAnonymous = spec(c, { mounts: [{ type: "volume", source: "", target: "/anonymous", readOnly: true }] });
        await expect(rt.createContainer(readOnlyAnonymous)).rejects.toBeInstanceOf(K3boxError);
        await rt.createContainer(
          spec(c, {
            mounts: [
              { type: "volume", source: named, target: "/named", readOnly: true },
              { type: "volume", source: "", target: "/anonymous" },
            ],
          }),
        );
        const mounts = [...(await inspect(c)).mounts].sort((x, y) => x.target.localeCompare(y.target));
        expect(mounts).toEqual([
          { type: "volume", source: expect.stringMatching(ANY_ID), target: "/anonymous", readOnly: false },
          { type: "volume", source: named, target: "/named", readOnly: true },
        ]);
        const anonymous = mounts[0]?.source as string;
        // Unlabelled, so only a list of everything shows them.
        expect(await rt.listVolumes({})).toEqual(expect.arrayContaining([named, anonymous]));
        await rt.removeContainer(c);
        const left = await rt.listVolumes({});
        expect(left).toContain(named);
        expect(left).not.toContain(anonymous);
      });

      it("files in a volume outlive the container that wrote them", async () => {
        const v = volume();
        const a = container("writer");
        const b = container("reader");
        await rt.createVolume({ name: v, labels });
        await rt.createContainer(spec(a, { mounts: [{ type: "volume", source: v, target: "/data" }] }));
        await rt.putFiles(a, [{ path: "/data/kept.txt", content: "kept", mode: 0o600 }]);
        await rt.removeContainer(a);
        await rt.createContainer(spec(b, { mounts: [{ type: "volume", source: v, target: "/mnt/v", readOnly: true }] }));
        expect(await rt.readFileEntry(b, "/mnt/v/kept.txt")).toEqual({
          path: "/mnt/v/kept.txt",
          content: Buffer.from("kept"),
          mode: 0o600,
        });
        await expect(rt.putFiles(b, [{ path: "/mnt/v/new.txt", content: "x" }])).rejects.toBeInstanceOf(K3boxError);
      });
    });

    describe("containers", () => {
      it("a created container is inspected with the settings it was created with", async () => {
        const c = container("created");
        const hostPort = await getPort({ host: "127.0.0.1" });
        const given: ContainerSpec = spec(c, {
          hostname: "node-0",
          entrypoint: ["sh", "-c"],
          cmd: ["exec sleep 3600"],
          env: { A: "1", B: "two words" },
          labels: { ...labels, "io.k3box.test.role": "server" },
          privileged: false,
          tmpfs: ["/run", "/a"],
          mounts: [{ type: "bind", source: "/tmp", target: "/host-tmp", readOnly: true, options: ["rshared"] }],
          ports: [
            { containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 },
            { containerPort: 53, protocol: "udp", hostIp: "127.0.0.1", hostPort },
          ],
          restartPolicy: "unless-stopped",
          init: true,
        });
        const id = await rt.createContainer(given);
        expect(id).toMatch(ANY_ID);
        const info = await inspect(c);
        expect(info).toMatchObject({
          id,
          name: c,
          image: t.image,
          labels: given.labels,
          state: "created",
          running: false,
          exitCode: 0,
          networks: { bridge: { ip: "" } },
          cmd: ["exec sleep 3600"],
          mounts: [{ type: "bind", source: "/tmp", target: "/host-tmp", readOnly: true }],
        });
        expect(info.startedAt).toBeUndefined();
        expect(info.finishedAt).toBeUndefined();
        expect(info.env).toMatchObject({ A: "1", B: "two words" });
        // As Docker orders its port map: "53/udp" before "80/tcp"; a port the engine picks shows as 0 until it runs.
        const ports = [
          { containerPort: 53, protocol: "udp", hostIp: "127.0.0.1", hostPort },
          { containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 },
        ];
        expect(info.ports).toEqual(ports);
        expect(info.spec).toMatchObject({
          name: c,
          image: t.image,
          hostname: "node-0",
          entrypoint: ["sh", "-c"],
          cmd: ["exec sleep 3600"],
          labels: given.labels,
          privileged: false,
          tmpfs: ["/a", "/run"],
          mounts: [{ type: "bind", source: "/tmp", target: "/host-tmp", readOnly: true, options: ["rshared"] }],
          ports,
          network: "bridge",
          networkAliases: [],
          restartPolicy: "unless-stopped",
          init: true,
        });
        expect(info.spec.env).toMatchObject({ A: "1", B: "two words" });
      });

      it("without a hostname the container is named by its short ID; an entrypoint given drops the image's command", async () => {
        const c = container("defaults");
        const id = await rt.createContainer(spec(c, { entrypoint: ["/bin/sh"] }));
        const info = await inspect(c);
        expect(info.spec.hostname).toBe(id.slice(0, 12));
        expect(info.cmd).toEqual([]);
        expect(info.spec.cmd).toBeUndefined();
        expect(info.spec.entrypoint).toEqual(["/bin/sh"]);
      });

      it("a name in use is ConflictError, an unknown image NotFoundError, a bad name an engine error; none leaves anything", async () => {
        const c = container("dup");
        const own = { ...labels, "io.k3box.test.case": c };
        const id = await rt.createContainer(spec(c, { labels: own }));
        await expect(rt.createContainer(spec(c, { labels: own }))).rejects.toBeInstanceOf(ConflictError);
        const noImage = spec(unique("img"), { image: `${prefix}-unknown:1`, labels: own });
        await expect(rt.createContainer(noImage)).rejects.toBeInstanceOf(NotFoundError);
        const bad = await rt.createContainer(spec(`${prefix} bad name`, { labels: own })).catch((e: unknown) => e);
        expect(bad).toBeInstanceOf(K3boxError);
        expect(bad).not.toBeInstanceOf(NotFoundError);
        expect((await rt.listContainers(own)).map((x) => x.id)).toEqual([id]);
      });

      it("a container on a network that does not exist is created, and its start is NotFoundError", async () => {
        const c = container("lost");
        await rt.createContainer(spec(c, { network: unique("missing-net") }));
        await expect(rt.startContainer(c)).rejects.toBeInstanceOf(NotFoundError);
        expect((await inspect(c)).state).toBe("created");
      });

      it("start, stop, start: state, times, exit code and published ports follow; repeating either is fine", async () => {
        const c = container("cycle");
        await startProcess(
          c,
          { lines: ["up"] },
          { ports: [{ containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 }] },
        );
        await rt.startContainer(c);
        const running = await inspect(c);
        expect(running).toMatchObject({ state: "running", running: true, exitCode: 0 });
        expect(running.startedAt).toBeInstanceOf(Date);
        expect(running.finishedAt).toBeUndefined();
        expect(running.ports).toHaveLength(1);
        expect(running.ports[0]?.hostPort).toBeGreaterThan(0);
        expect(running.ports[0]?.hostIp).toBe("127.0.0.1");
        await rt.stopContainer(c);
        await rt.stopContainer(c);
        const stopped = await inspect(c);
        expect(stopped).toMatchObject({ state: "exited", running: false, exitCode: STOPPED });
        expect(stopped.startedAt).toEqual(running.startedAt);
        expect(stopped.finishedAt?.getTime()).toBeGreaterThanOrEqual(running.startedAt?.getTime() ?? Infinity);
        expect(stopped.ports).toEqual([{ containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 }]);
        await rt.startContainer(c);
        await logged(c, 2);
        const again = await inspect(c);
        expect(again).toMatchObject({ state: "running", exitCode: 0 });
        // The previous run's end is kept while the container runs again.
        expect(again.finishedAt).toEqual(stopped.finishedAt);
        expect(again.startedAt?.getTime()).toBeGreaterThan(stopped.finishedAt?.getTime() ?? Infinity);
      });

      it("a process that ends by itself leaves the container exited with its code", async () => {
        const c = container("job");
        await startProcess(c, { lines: ["done"], exitCode: 3 });
        const info = await exited(c);
        expect(info).toMatchObject({ state: "exited", running: false, exitCode: 3 });
        expect(info.finishedAt).toBeInstanceOf(Date);
      });

      it("a host port taken by a running container fails the start with ConflictError and leaves the container created", async () => {
        const a = container("port-a");
        const b = container("port-b");
        const hostPort = await getPort({ host: "127.0.0.1" });
        const ports = [{ containerPort: 80, protocol: "tcp" as const, hostIp: "127.0.0.1", hostPort }];
        await startProcess(a, { lines: ["up"] }, { ports });
        expect((await inspect(a)).ports).toEqual(ports);
        await createProcess(b, { lines: ["up"] }, { ports });
        const taken = await rt.startContainer(b).catch((e: unknown) => e);
        expect(taken).toBeInstanceOf(ConflictError);
        expect((taken as Error).message).toMatch(/port is already allocated/);
        expect(await inspect(b)).toMatchObject({ state: "created", running: false, exitCode: 128 });
      });

      it("listContainers selects by labels as Docker's label filter does: every label must match, an empty value only asks for the key", async () => {
        const role = "io.k3box.test.role";
        const boxes = { a: container("sel"), b: container("sel"), c: container("sel") };
        await rt.createContainer(spec(boxes.a, { labels: { ...labels, [role]: "server", "io.k3box.test.extra": "1" } }));
        await rt.createContainer(spec(boxes.b, { labels: { ...labels, [role]: "agent" } }));
        await rt.createContainer(spec(boxes.c, { labels: { ...labels, [role]: "server" } }));
        const names = async (selector: Labels) => (await rt.listContainers(selector)).map((x) => x.name).sort();
        expect(await names({ ...labels, [role]: "server" })).toEqual([boxes.a, boxes.c].sort());
        expect(await names({ ...labels, [role]: "server", "io.k3box.test.extra": "1" })).toEqual([boxes.a]);
        expect(await names({ ...labels, "io.k3box.test.extra": "" })).toEqual([boxes.a]);
        expect(await names({ ...labels, [role]: "" })).toEqual([boxes.a, boxes.b, boxes.c].sort());
        expect(await names({ ...labels, [role]: "nobody" })).toEqual([]);
        const [info] = await rt.listContainers({ ...labels, [role]: "agent" });
        expect(info).toEqual(await inspect(boxes.b));
      });

      it("rename keeps the container, its aliases and its networks; the new name resolves, the old one does not", async () => {
        const n = network();
        const c = container("old");
        const renamed = container("new");
        const other = container("taken");
        const peer = container("peer");
        await rt.createNetwork({ name: n, labels });
        await startProcess(c, { lines: ["up"] }, { network: n, networkAliases: ["stays"] });
        await startProcess(peer, { lines: ["up"] }, { network: n });
        await rt.createContainer(spec(other));
        const before = await inspect(c);
        await expect(rt.renameContainer(c, other)).rejects.toBeInstanceOf(ConflictError);
        await expect(rt.renameContainer(c, c)).rejects.toBeInstanceOf(K3boxError);
        await rt.renameContainer(c, renamed);
        expect(await rt.inspectContainer(c)).toBeUndefined();
        const after = await inspect(renamed);
        expect(after).toMatchObject({ id: before.id, name: renamed, running: true, networks: before.networks });
        expect(after.spec).toMatchObject({ name: renamed, hostname: before.spec.hostname, networkAliases: ["stays"] });
        const ip = before.networks[n]?.ip;
        expect(await t.resolve(peer, renamed)).toEqual([ip]);
        expect(await t.resolve(peer, "stays")).toEqual([ip]);
        expect(await t.resolve(peer, c)).toEqual([]);
        await expect(rt.renameContainer(unique("missing"), unique("x"))).rejects.toBeInstanceOf(NotFoundError);
      });

      it("calls on a container that does not exist are NotFoundError; inspect answers undefined and remove does nothing", async () => {
        const missing = unique("missing");
        await expect(rt.startContainer(missing)).rejects.toBeInstanceOf(NotFoundError);
        await expect(rt.stopContainer(missing)).rejects.toBeInstanceOf(NotFoundError);
        await expect(rt.exec(missing, ["true"])).rejects.toBeInstanceOf(NotFoundError);
        await expect(rt.putFiles(missing, [{ path: "/x", content: "" }])).rejects.toBeInstanceOf(NotFoundError);
        await expect(rt.readFile(missing, "/x")).rejects.toBeInstanceOf(NotFoundError);
        await expect(collect(rt.logs(missing, { follow: false }))).rejects.toBeInstanceOf(NotFoundError);
        expect(await rt.inspectContainer(missing)).toBeUndefined();
        await expect(rt.removeContainer(missing)).resolves.toBeUndefined();
      });

      it("a running container is removed outright, and removing it again is fine", async () => {
        const c = container("gone");
        await startProcess(c, { lines: ["up"] });
        await rt.removeContainer(c);
        expect(await rt.inspectContainer(c)).toBeUndefined();
        await rt.removeContainer(c);
      });
    });

    describe("logs", () => {
      const lines = ["one", "two words", "three"];

      it("without follow: the lines so far, in order; tail keeps the last ones", async () => {
        const c = container("log");
        await startProcess(c, { lines, exitCode: 0 });
        await exited(c);
        expect(await collect(rt.logs(c, { follow: false }))).toEqual(lines);
        expect(await collect(rt.logs(c, { follow: false, tail: 1 }))).toEqual(["three"]);
        expect(await collect(rt.logs(c, { follow: false, tail: 0 }))).toEqual([]);
      });

      it("following a running container gives each line and ends when it stops", async () => {
        const c = container("log");
        await startProcess(c, { lines });
        const seen: string[] = [];
        let stopping: Promise<void> | undefined;
        for await (const l of rt.logs(c, { follow: true })) {
          seen.push(l);
          if (seen.length === lines.length) stopping = rt.stopContainer(c);
        }
        await stopping;
        expect(seen).toEqual(lines);
        expect((await inspect(c)).running).toBe(false);
      });

      it("following a container that is not running gives its lines and ends", async () => {
        const c = container("log");
        await startProcess(c, { lines, exitCode: 0 });
        await exited(c);
        expect(await collect(rt.logs(c, { follow: true }))).toEqual(lines);
        const created = container("log");
        await createProcess(created, { lines });
        expect(await collect(rt.logs(created, { follow: true }))).toEqual([]);
      });

      it("since a moment between two runs: only what the container printed after it", async () => {
        const c = container("log");
        await startProcess(c, { lines: ["run"], exitCode: 0 });
        const first = await exited(c);
        // Docker stamps a line when it reads it from the process, which can be a little after the
        // process ended (finishedAt), or before the next run's startedAt: neither is an exact boundary.
        const since = new Date((first.finishedAt as Date).getTime() + 100);
        while (Date.now() <= since.getTime()) await new Promise((r) => setTimeout(r, 20));
        await rt.startContainer(c);
        await eventually(
          "the second run ends",
          () => inspect(c),
          (i) => !i.running && i.startedAt?.getTime() !== first.startedAt?.getTime(),
        );
        expect(await collect(rt.logs(c, { follow: false }))).toEqual(["run", "run"]);
        expect(await collect(rt.logs(c, { follow: false, since }))).toEqual(["run"]);
        expect(await collect(rt.logs(c, { follow: true, since }))).toEqual(["run"]);
        expect(await collect(rt.logs(c, { follow: false, since: new Date(Date.now() + 60_000) }))).toEqual([]);
      });

      it("an abort while following ends the lines quietly; an abort before the call is CancelledError", async () => {
        const c = container("log");
        await startProcess(c, { lines });
        await logged(c, lines.length);
        const ac = new AbortController();
        const seen: string[] = [];
        for await (const l of rt.logs(c, { follow: true }, ac.signal)) {
          seen.push(l);
          if (seen.length === lines.length) ac.abort();
        }
        expect(seen).toEqual(lines);
        expect((await inspect(c)).running).toBe(true);
        await expect(collect(rt.logs(c, { follow: true }, ac.signal))).rejects.toBeInstanceOf(CancelledError);
      });

      it("following ends when the container is removed", async () => {
        const c = container("log");
        await startProcess(c, { lines });
        await logged(c, lines.length);
        let removing: Promise<void> | undefined;
        const seen: string[] = [];
        for await (const l of rt.logs(c, { follow: true })) {
          seen.push(l);
          if (seen.length === lines.length) removing = rt.removeContainer(c);
        }
        await removing;
        expect(seen).toEqual(lines);
        expect(await rt.inspectContainer(c)).toBeUndefined();
      });
    });

    describe("exec", () => {
      const shell = ["sh", "-c", "echo out; echo err >&2; exit 3"];
      const shellAnswer: ExecAnswer = () => ({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
      const cat: ExecAnswer = (stdin) => ({ exitCode: 0, stdout: stdin?.toString() ?? "", stderr: "" });
      /** busybox sleep: ends after its time, or when the exec is cut short. */
      const sleep: ExecAnswer = (_, signal) =>
        new Promise((resolve) => {
          const done = () => resolve({ exitCode: 0, stdout: "", stderr: "" });
          const timer = setTimeout(done, 30_000);
          signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            done();
          });
        });

      it("gives the exit code and stdout and stderr apart", async () => {
        const c = container("exec");
        await startProcess(c, { lines: ["up"] });
        t.scriptExec?.(c, shell, shellAnswer);
        expect(await rt.exec(c, shell)).toEqual(await shellAnswer(undefined, undefined));
      });

      it("passes stdin to the command until its end; an input destroyed before its end fails the call", async () => {
        const c = container("exec");
        await startProcess(c, { lines: ["up"] });
        t.scriptExec?.(c, ["cat"], cat);
        const input = () => Readable.from([Buffer.from("hello\n"), Buffer.from("world")]);
        expect(await rt.exec(c, ["cat"], { stdin: input() })).toEqual({ exitCode: 0, stdout: "hello\nworld", stderr: "" });
        const cut = new Readable({ read() {} });
        cut.push("partial");
        setTimeout(() => cut.destroy(), 200);
        const err = await rt.exec(c, ["cat"], { stdin: cut }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(K3boxError);
        expect((err as Error).message).toMatch(/input was cut off/);
      });

      it("an input destroyed before the call fails it, and one already read to its end is an empty stdin: neither waits", async () => {
        const c = container("exec");
        await startProcess(c, { lines: ["up"] });
        t.scriptExec?.(c, ["cat"], cat);
        const destroyed = new Readable({ read() {} });
        destroyed.destroy();
        const err = await rt.exec(c, ["cat"], { stdin: destroyed }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(K3boxError);
        expect((err as Error).message).toMatch(/input was cut off/);
        const ended = Readable.from([]);
        ended.resume();
        await new Promise((r) => ended.once("end", r));
        expect(await rt.exec(c, ["cat"], { stdin: ended })).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      });

      it("a program the container does not have exits 126 with the runtime's message on stdout", async () => {
        const c = container("exec");
        await startProcess(c, { lines: ["up"] });
        const r = await rt.exec(c, ["k3box-no-such-program", "arg"]);
        expect(r.exitCode).toBe(126);
        expect(r.stdout).toMatch(/"k3box-no-such-program": executable file not found/);
      });

      it("a container that is not running is ConflictError", async () => {
        const c = container("exec");
        await createProcess(c, { lines: ["up"] });
        await expect(rt.exec(c, ["true"])).rejects.toBeInstanceOf(ConflictError);
        await rt.startContainer(c);
        await logged(c, 1);
        await rt.stopContainer(c);
        await expect(rt.exec(c, ["true"])).rejects.toBeInstanceOf(ConflictError);
      });

      it("an abort while the command runs rejects with the signal's reason at once", async () => {
        const c = container("exec");
        await startProcess(c, { lines: ["up"] });
        t.scriptExec?.(c, ["sleep", "30"], sleep);
        const ac = new AbortController();
        const running = rt.exec(c, ["sleep", "30"], {}, ac.signal);
        setTimeout(() => ac.abort(new TimeoutError("the test's deadline")), 200);
        await expect(running).rejects.toBeInstanceOf(TimeoutError);
      });
    });

    describe("files", () => {
      it("putFiles and readFileEntry round-trip content and mode, in a container never started, through stop and start", async () => {
        const c = container("files");
        const binary = Buffer.from([0, 1, 2, 255]);
        await createProcess(c, { lines: ["up"] });
        await rt.putFiles(c, [
          { path: "/k3box/dir/", content: "", mode: 0o700 },
          { path: "/k3box/dir/run.sh", content: "#!/bin/sh\n", mode: 0o755 },
          { path: "/k3box/secret", content: "s", mode: 0o600 },
          { path: "/k3box/deep/er/default.bin", content: binary },
        ]);
        expect(await rt.readFileEntry(c, "/k3box/dir/run.sh")).toEqual({
          path: "/k3box/dir/run.sh",
          content: Buffer.from("#!/bin/sh\n"),
          mode: 0o755,
        });
        expect(await rt.readFileEntry(c, "/k3box/secret")).toMatchObject({ mode: 0o600 });
        expect(await rt.readFileEntry(c, "/k3box/deep/er/default.bin")).toEqual({
          path: "/k3box/deep/er/default.bin",
          content: binary,
          mode: 0o644,
        });
        expect(await rt.readFile(c, "k3box/secret")).toEqual(Buffer.from("s"));
        await rt.startContainer(c);
        await rt.stopContainer(c);
        await rt.startContainer(c);
        expect(await rt.readFile(c, "/k3box/dir/run.sh")).toEqual(Buffer.from("#!/bin/sh\n"));
      });

      it("a file put again takes the new content and mode; a file put over a directory replaces it", async () => {
        const c = container("files");
        await rt.createContainer(spec(c));
        await rt.putFiles(c, [
          { path: "/etc/k3box.conf", content: "a", mode: 0o600 },
          { path: "/k3box/d/inner", content: "i" },
        ]);
        await rt.putFiles(c, [
          { path: "/etc/k3box.conf", content: "bb", mode: 0o644 },
          { path: "/k3box/d", content: "now a file" },
        ]);
        expect(await rt.readFileEntry(c, "/etc/k3box.conf")).toMatchObject({ content: Buffer.from("bb"), mode: 0o644 });
        expect(await rt.readFile(c, "/k3box/d")).toEqual(Buffer.from("now a file"));
        // Under a file, the engine fails to look rather than finding nothing.
        const under = await rt.readFile(c, "/k3box/d/inner").catch((e: unknown) => e);
        expect(under).toBeInstanceOf(K3boxError);
        expect(under).not.toBeInstanceOf(NotFoundError);
      });

      it("putFileStream writes a file from a stream of the length given, in a container never started; another length fails", async () => {
        const c = container("files");
        await rt.createContainer(spec(c));
        const content = Buffer.alloc(300_000, "k");
        await rt.putFileStream(c, { path: "/k3box/big/file.tar", size: content.length, content: Readable.from([content]) });
        const written = await rt.readFileEntry(c, "/k3box/big/file.tar");
        // Buffer.equals: a deep comparison of this many bytes is slow.
        expect([written.mode, Buffer.from(written.content).equals(content)]).toEqual([0o644, true]);
        for (const size of [content.length + 1, content.length - 1]) {
          const err = await rt
            .putFileStream(c, { path: "/k3box/other", size, content: Readable.from([content]) })
            .catch((e: unknown) => e);
          expect(err, `size ${size}`).toBeInstanceOf(K3boxError);
        }
        const failing = new Readable({
          read() {
            this.destroy(new Error("source failed"));
          },
        });
        await expect(rt.putFileStream(c, { path: "/k3box/other", size: 1, content: failing })).rejects.toThrow("source failed");
      });

      it("a path that does not exist is NotFoundError; a directory is not a regular file", async () => {
        const c = container("files");
        await rt.createContainer(spec(c));
        await rt.putFiles(c, [{ path: "/k3box/dir/inner.txt", content: "inner" }]);
        await expect(rt.readFile(c, "/k3box/none")).rejects.toBeInstanceOf(NotFoundError);
        for (const dir of ["/k3box/dir", "/k3box/dir/"]) {
          const err = await rt.readFileEntry(c, dir).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(K3boxError);
          expect(err).not.toBeInstanceOf(NotFoundError);
          expect((err as Error).message).toMatch(/not a regular file/);
        }
      });
    });

    describe("abort", () => {
      /**
       * One call of each method, on names that need not exist: an aborted signal must stop each before the engine is asked.
       * `place` asks no engine and takes no signal.
       */
      const everyCall = (signal: AbortSignal, n: string): Record<Exclude<keyof Runtime, "place">, () => Promise<unknown>> => ({
        info: () => rt.info(signal),
        imageExists: () => rt.imageExists(t.image, signal),
        inspectImage: () => rt.inspectImage(t.image, signal),
        saveImages: () => rt.saveImages([t.image], signal),
        loadImages: () => rt.loadImages(Readable.from([]), signal),
        pullImage: () => rt.pullImage(`${n}:1`, undefined, signal),
        buildImage: () =>
          rt.buildImage(
            { tag: `k3box-test/${n}:1`, labels, context: [{ path: "Dockerfile", content: `FROM ${t.image}\n` }] },
            undefined,
            signal,
          ),
        createNetwork: () => rt.createNetwork({ name: n, labels }, signal),
        inspectNetwork: () => rt.inspectNetwork("bridge", signal),
        removeNetwork: () => rt.removeNetwork(n, signal),
        listNetworks: () => rt.listNetworks(labels, signal),
        disconnectNetwork: () => rt.disconnectNetwork(n, n, signal),
        connectNetwork: () => rt.connectNetwork(n, n, [], signal),
        createVolume: () => rt.createVolume({ name: n, labels }, signal),
        removeVolume: () => rt.removeVolume(n, signal),
        listVolumes: () => rt.listVolumes(labels, signal),
        inspectVolume: () => rt.inspectVolume(unique("vol"), signal),
        createContainer: () => rt.createContainer(spec(n), signal),
        startContainer: () => rt.startContainer(n, signal),
        stopContainer: () => rt.stopContainer(n, 1, signal),
        removeContainer: () => rt.removeContainer(n, signal),
        renameContainer: () => rt.renameContainer(n, `${n}-2`, signal),
        inspectContainer: () => rt.inspectContainer(n, signal),
        listContainers: () => rt.listContainers(labels, signal),
        logs: () => collect(rt.logs(n, { follow: true }, signal)),
        exec: () => rt.exec(n, ["true"], {}, signal),
        putFiles: () => rt.putFiles(n, [{ path: "/x", content: "" }], signal),
        putFileStream: () => rt.putFileStream(n, { path: "/x", size: 0, content: Readable.from([]) }, signal),
        readFile: () => rt.readFile(n, "/x", signal),
        readFileEntry: () => rt.readFileEntry(n, "/x", signal),
      });

      it("every call with an aborted signal rejects with CancelledError, or the signal's own timeout, and changes nothing", async () => {
        const n = unique("aborted");
        const cancelled = new AbortController();
        cancelled.abort();
        for (const [method, call] of Object.entries(everyCall(cancelled.signal, n))) {
          const err = await call().then(
            () => new Error(`${method} resolved`),
            (e: unknown) => e,
          );
          expect(err, method).toBeInstanceOf(CancelledError);
        }
        const reason = new TimeoutError("deadline passed");
        const timedOut = new AbortController();
        timedOut.abort(reason);
        for (const [method, call] of Object.entries(everyCall(timedOut.signal, n))) {
          expect(await call().catch((e: unknown) => e), method).toBe(reason);
        }
        expect(await rt.inspectContainer(n)).toBeUndefined();
        expect(await rt.inspectNetwork(n)).toBeUndefined();
        expect(await rt.listVolumes({})).not.toContain(n);
        expect(await rt.imageExists(`k3box-test/${n}:1`)).toBe(false);
      });

      it("a creation the signal aborts once it began is carried out, so that its undo can be recorded", async () => {
        const c = container("begun");
        const n = network();
        const v = volume();
        const ac = new AbortController();
        const creatingContainer = rt.createContainer(spec(c), ac.signal);
        const creatingNetwork = rt.createNetwork({ name: n, labels }, ac.signal);
        const creatingVolume = rt.createVolume({ name: v, labels }, ac.signal);
        ac.abort();
        expect(await creatingContainer).toMatch(ANY_ID);
        expect((await creatingNetwork).name).toBe(n);
        await creatingVolume;
        expect(await rt.inspectContainer(c)).toBeDefined();
        expect(await rt.inspectNetwork(n)).toBeDefined();
        expect(await rt.listVolumes(labels)).toContain(v);
      });

      it("a read the signal aborts once it began rejects with CancelledError", async () => {
        const ac = new AbortController();
        const listing = rt.listContainers(labels, ac.signal);
        ac.abort();
        await expect(listing).rejects.toBeInstanceOf(CancelledError);
      });
    });
  });
}
