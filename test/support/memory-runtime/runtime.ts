import { randomUUID } from "node:crypto";
/**
 * A container engine in memory, for unit tests: it keeps the Runtime contract as the Docker
 * runtime does (the same typed errors, the same answers to an aborted signal), and lets a test
 * script what runs in containers, fail any call, act at any call, and see what is left.
 */
import type { Readable } from "node:stream";
import { K3boxError, NotFoundError } from "../../../src/base/errors.js";
import type {
  ContainerInfo,
  ContainerSpec,
  EnginePlace,
  ExecResult,
  FileEntry,
  ImageBuild,
  ImageInfo,
  Labels,
  NetworkInfo,
  NetworkSpec,
  PullProgress,
  Runtime,
  RuntimeInfo,
  StreamedFile,
  VolumeSpec,
} from "../../../src/runtime/types.js";
import type { ArgvMatch, ContainerMatch, ExecHandler, Program } from "./behaviour.js";
import {
  CallGate,
  type Call,
  type FailureRule,
  type JournalEntry,
  type Request,
  type RuntimeMethod,
  type When,
} from "./calls.js";
import * as containers from "./containers.js";
import { engineError } from "./failure.js";
import type { ContainerFiles } from "./files.js";
import type { BuildRecord, ImageConfig } from "./images.js";
import { selectLines } from "./logs.js";
import * as networks from "./networks.js";
import { EngineState } from "./state.js";
import * as volumes from "./volumes.js";

/** What exists in the engine, by name, sorted; the built-in networks are left out. */
export interface EngineSnapshot {
  readonly containers: readonly string[];
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
}

export interface MemoryRuntimeOptions {
  /** Images present from the start, by name. */
  readonly images?: Readonly<Record<string, ImageConfig>>;
  /** Images a pull can fetch, by name. */
  readonly registry?: Readonly<Record<string, ImageConfig>>;
  /** The engine plays one on another host, reached at this address (its published ports are there). */
  readonly remote?: { readonly host: string; readonly address: string };
}

/** A failure Docker answers with 404 is, for the calls that tolerate a missing object, no failure. */
function ignoreNotFound(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/** Reads all of an exec's input; cut off when the stream closes before its end (or the call is aborted). */
function readInput(stream: Readable, signal?: AbortSignal): Promise<{ data: Buffer; cutOff: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (cutOff: boolean) => {
      if (done) return;
      done = true;
      signal?.removeEventListener("abort", onAbort);
      resolve({ data: Buffer.concat(chunks), cutOff });
    };
    const onAbort = () => finish(true);
    // A stream that ended or was destroyed before the call has no events left to emit.
    if (stream.readableEnded) return finish(false);
    if (stream.destroyed) return finish(true);
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("data", (c: Buffer | string) => chunks.push(Buffer.from(c)));
    stream.once("end", () => finish(false));
    stream.once("close", () => finish(!stream.readableEnded));
    stream.once("error", () => finish(true));
  });
}

export class MemoryRuntime implements Runtime {
  private readonly id = `memory-${randomUUID()}`;
  private readonly state = new EngineState();
  private readonly gate = new CallGate();

  constructor(private readonly options: MemoryRuntimeOptions = {}) {
    for (const [ref, config] of Object.entries(options.images ?? {})) this.seedImage(ref, config);
    for (const [ref, config] of Object.entries(options.registry ?? {})) this.seedRegistryImage(ref, config);
  }

  private call<T>(
    method: RuntimeMethod,
    names: readonly string[],
    args: readonly unknown[],
    what: string,
    signal: AbortSignal | undefined,
    mode: Request<T>["mode"],
    effect: () => T | Promise<T>,
  ): Promise<T> {
    return this.gate.run({ method, names, args, what, signal, mode, effect });
  }

  // ---- Runtime ----

  place(): Promise<EnginePlace> {
    const remote = this.options.remote;
    return Promise.resolve({ endpoint: remote ? `tcp://${remote.host}:2375` : this.id, ...(remote ? { remote } : {}) });
  }

  info(signal?: AbortSignal): Promise<RuntimeInfo> {
    return this.call("info", [], [], "engine info", signal, "guard", () => ({
      // One engine per instance: what k3box learns about one (and caches) says nothing about another.
      id: this.id,
      name: "memory",
      version: "1.0.0",
      apiVersion: "1.41",
      os: "linux",
      arch: "x86_64",
    }));
  }

  imageExists(ref: string, signal?: AbortSignal): Promise<boolean> {
    return this.call(
      "imageExists",
      [ref],
      [ref],
      `inspect image ${ref}`,
      signal,
      "guard",
      () => this.state.images.find(ref) !== undefined,
    );
  }

  inspectImage(ref: string, signal?: AbortSignal): Promise<ImageInfo | undefined> {
    return this.call("inspectImage", [ref], [ref], `inspect image ${ref}`, signal, "guard", () => this.state.images.inspect(ref));
  }

  saveImages(refs: readonly string[], signal?: AbortSignal): Promise<Readable> {
    return this.call("saveImages", refs, [refs], `save images ${refs.join(", ")}`, signal, "guard", () => {
      const stream = this.state.images.save(refs);
      if (signal) {
        // The export stops when the caller gives up, as the engine's does when its request is aborted.
        const stop = () => stream.destroy();
        signal.addEventListener("abort", stop, { once: true });
        stream.once("close", () => signal.removeEventListener("abort", stop));
      }
      return stream;
    });
  }

  loadImages(archive: Readable, signal?: AbortSignal): Promise<string[]> {
    return this.call("loadImages", [], [], "load images", signal, "change", async () => {
      const input = await readInput(archive, signal);
      if (input.cutOff) throw new K3boxError("load images: the archive was cut off");
      return this.state.images.load(input.data);
    });
  }

  pullImage(ref: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    return this.call("pullImage", [ref], [ref], `pull image ${ref}`, signal, "guard", () =>
      this.state.images.pull(ref, onProgress),
    );
  }

  buildImage(build: ImageBuild, onLine?: (line: string) => void, signal?: AbortSignal): Promise<void> {
    return this.call("buildImage", [build.tag], [build], `build image ${build.tag}`, signal, "guard", () =>
      this.state.images.build(build, onLine),
    );
  }

  createNetwork(spec: NetworkSpec, signal?: AbortSignal): Promise<NetworkInfo> {
    return this.call("createNetwork", [spec.name], [spec], `create network ${spec.name}`, signal, "change", () =>
      networks.networkInfo(this.state, networks.createNetwork(this.state, spec), true),
    );
  }

  inspectNetwork(name: string, signal?: AbortSignal): Promise<NetworkInfo | undefined> {
    return this.call("inspectNetwork", [name], [name], `inspect network ${name}`, signal, "guard", () => {
      const n = this.state.network(name);
      return n && networks.networkInfo(this.state, n, true);
    });
  }

  removeNetwork(name: string, signal?: AbortSignal): Promise<void> {
    return this.call("removeNetwork", [name], [name], `remove network ${name}`, signal, "guard", () =>
      ignoreNotFound(() => networks.removeNetwork(this.state, name)),
    );
  }

  listNetworks(labels: Labels, signal?: AbortSignal): Promise<NetworkInfo[]> {
    return this.call("listNetworks", [], [labels], "list networks", signal, "guard", () =>
      networks.listNetworks(this.state, labels),
    );
  }

  disconnectNetwork(network: string, container: string, signal?: AbortSignal): Promise<void> {
    const what = `disconnect ${container} from ${network}`;
    return this.call("disconnectNetwork", [network, container], [network, container], what, signal, "guard", () =>
      ignoreNotFound(() => networks.disconnect(this.state, network, container)),
    );
  }

  connectNetwork(network: string, container: string, aliases: readonly string[], signal?: AbortSignal): Promise<void> {
    const what = `connect ${container} to ${network}`;
    return this.call("connectNetwork", [network, container], [network, container, aliases], what, signal, "change", () =>
      networks.connect(this.state, network, container, aliases),
    );
  }

  createVolume(spec: VolumeSpec, signal?: AbortSignal): Promise<void> {
    return this.call("createVolume", [spec.name], [spec], `create volume ${spec.name}`, signal, "change", () => {
      volumes.createVolume(this.state, spec);
    });
  }

  removeVolume(name: string, signal?: AbortSignal): Promise<void> {
    return this.call("removeVolume", [name], [name], `remove volume ${name}`, signal, "guard", () =>
      ignoreNotFound(() => volumes.removeVolume(this.state, name)),
    );
  }

  listVolumes(labels: Labels, signal?: AbortSignal): Promise<string[]> {
    return this.call("listVolumes", [], [labels], "list volumes", signal, "guard", () => volumes.listVolumes(this.state, labels));
  }

  inspectVolume(name: string, signal?: AbortSignal): Promise<VolumeSpec | undefined> {
    return this.call("inspectVolume", [name], [name], `inspect volume ${name}`, signal, "guard", () => {
      const v = this.state.volumes.get(name);
      return v && { name: v.name, labels: { ...v.labels } };
    });
  }

  createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    return this.call(
      "createContainer",
      [spec.name],
      [spec],
      `create container ${spec.name}`,
      signal,
      "change",
      () => containers.createContainer(this.state, spec).id,
    );
  }

  startContainer(name: string, signal?: AbortSignal): Promise<void> {
    return this.call("startContainer", [name], [name], `start container ${name}`, signal, "guard", () =>
      containers.startContainer(this.state, this.state.requireContainer(name)),
    );
  }

  stopContainer(name: string, timeoutSeconds = 10, signal?: AbortSignal): Promise<void> {
    return this.call("stopContainer", [name], [name, timeoutSeconds], `stop container ${name}`, signal, "guard", () =>
      containers.stopContainer(this.state, this.state.requireContainer(name)),
    );
  }

  removeContainer(name: string, signal?: AbortSignal): Promise<void> {
    return this.call("removeContainer", [name], [name], `remove container ${name}`, signal, "guard", () =>
      ignoreNotFound(() => containers.removeContainer(this.state, this.state.requireContainer(name))),
    );
  }

  renameContainer(name: string, newName: string, signal?: AbortSignal): Promise<void> {
    const what = `rename container ${name} to ${newName}`;
    return this.call("renameContainer", [name, newName], [name, newName], what, signal, "change", () =>
      containers.renameContainer(this.state, this.state.requireContainer(name), newName),
    );
  }

  inspectContainer(name: string, signal?: AbortSignal): Promise<ContainerInfo | undefined> {
    return this.call("inspectContainer", [name], [name], `inspect container ${name}`, signal, "guard", () => {
      const c = this.state.container(name);
      return c && containers.inspectContainer(c);
    });
  }

  listContainers(labels: Labels, signal?: AbortSignal): Promise<ContainerInfo[]> {
    return this.call("listContainers", [], [labels], "list containers", signal, "guard", () =>
      containers.listContainers(this.state, labels),
    );
  }

  /**
   * As Docker streams them: the selected lines, then (following) each new line until the run
   * that was current at the call ends, the container is removed, or the signal aborts; an abort
   * after the call began ends the lines quietly.
   */
  async *logs(
    name: string,
    options: { since?: Date; follow: boolean; tail?: number },
    signal?: AbortSignal,
  ): AsyncIterable<string> {
    const opened = await this.call("logs", [name], [name, options], `logs of ${name}`, signal, "guard", () => {
      const c = this.state.requireContainer(name);
      return { c, run: c.run, first: selectLines(c.logs.lines, options), next: c.logs.lines.length };
    });
    for (const line of opened.first) {
      if (signal?.aborted) return;
      yield line.text;
    }
    if (!options.follow) return;
    const { c, run } = opened;
    const since = options.since?.getTime() ?? -Infinity;
    for (let next = opened.next; ; ) {
      while (next < c.logs.lines.length) {
        const line = c.logs.lines[next++];
        if (signal?.aborted) return;
        if (line && line.time.getTime() >= since) yield line.text;
      }
      if (signal?.aborted || run === undefined || c.run !== run || !this.state.containers.has(c.id)) return;
      await c.logs.changed(signal);
    }
  }

  exec(name: string, argv: readonly string[], options: { stdin?: Readable } = {}, signal?: AbortSignal): Promise<ExecResult> {
    const what = `exec ${argv[0] ?? ""} in ${name}`;
    return this.call("exec", [name], [name, argv, options], what, signal, "guard", async () => {
      const c = this.state.requireContainer(name);
      if (c.state !== "running") throw engineError(409, `Container ${c.id} is not running`);
      const input = options.stdin ? await readInput(options.stdin, signal) : undefined;
      const handler = this.state.behaviour.exec({ name: c.name, spec: c.spec }, argv);
      const answer = await handler({
        container: c.name,
        argv: [...argv],
        ...(input ? { stdin: input.data } : {}),
        ...(signal ? { signal } : {}),
        files: containers.filesOf(this.state, c),
        log: (...lines) => this.log(c.name, ...lines),
      });
      if (input?.cutOff) throw new K3boxError(`${what}: its input was cut off`);
      return { exitCode: answer.exitCode ?? 0, stdout: answer.stdout ?? "", stderr: answer.stderr ?? "" };
    });
  }

  putFiles(name: string, files: readonly FileEntry[], signal?: AbortSignal): Promise<void> {
    return this.call("putFiles", [name], [name, files], `copy files into ${name}`, signal, "guard", () => {
      const fs = containers.filesOf(this.state, this.state.requireContainer(name));
      for (const f of files) fs.write(f);
    });
  }

  putFileStream(name: string, file: StreamedFile, signal?: AbortSignal): Promise<void> {
    const what = `copy ${file.path} into ${name}`;
    return this.call("putFileStream", [name], [name, file.path, file.size], what, signal, "guard", async () => {
      const fs = containers.filesOf(this.state, this.state.requireContainer(name));
      let failure: Error | undefined;
      file.content.once("error", (err) => (failure = err));
      const input = await readInput(file.content, signal);
      if (failure) throw new K3boxError(`${what}: ${failure.message}`);
      // As the tar entry the Docker runtime sends: its length is the header's, or the archive is refused.
      if (input.cutOff || input.data.length !== file.size) throw new K3boxError(`${what}: Size mismatch`);
      fs.write({ path: file.path, content: input.data, mode: file.mode ?? 0o644 });
    });
  }

  readFile(name: string, path: string, signal?: AbortSignal): Promise<Buffer> {
    return this.call(
      "readFile",
      [name],
      [name, path],
      `read ${path} from ${name}`,
      signal,
      "guard",
      () => containers.filesOf(this.state, this.state.requireContainer(name)).read(path).content,
    );
  }

  readFileEntry(name: string, path: string, signal?: AbortSignal): Promise<FileEntry> {
    return this.call("readFileEntry", [name], [name, path], `read ${path} from ${name}`, signal, "guard", () => ({
      path,
      ...containers.filesOf(this.state, this.state.requireContainer(name)).read(path),
    }));
  }

  // ---- What tests set up ----

  seedImage(ref: string, config: ImageConfig = {}): void {
    this.state.images.seed(ref, config, "local");
  }

  /** An image a pull can fetch; the memory engine's stand-in for a registry. */
  seedRegistryImage(ref: string, config: ImageConfig = {}): void {
    this.state.images.seed(ref, config, "remote");
  }

  /** Untags an image (the Runtime has no call for it). */
  removeImage(ref: string): void {
    this.state.images.remove(ref);
  }

  /** Local image names, sorted. */
  images(): string[] {
    return this.state.images.tags();
  }

  /** Every `buildImage` that succeeded, in order. */
  get builds(): readonly BuildRecord[] {
    return this.state.images.builds;
  }

  /** What runs when a matching container starts; the latest matching registration wins. */
  program(match: ContainerMatch, program: Program): () => void {
    return this.state.behaviour.addProgram(match, program);
  }

  /** How `exec` of a matching argv answers in matching containers; without one, exit 126 as for a missing program. */
  onExec(match: ContainerMatch, argv: ArgvMatch, handler: ExecHandler): () => void {
    return this.state.behaviour.addExec(match, argv, handler);
  }

  /** Appends lines to a container's log, stamped now. */
  log(container: string, ...lines: string[]): void {
    const c = this.existing(container);
    for (const l of lines) c.logs.append(this.state.clock.now(), l);
  }

  /**
   * Moves the engine's clock on, as if that much time had passed: lines a container logs when it
   * starts again then come well after its previous run ended, as they do on a real engine.
   */
  advanceClock(ms: number): void {
    this.state.clock.advance(ms);
  }

  /** The container's process exits by itself (a crash, a finished job). */
  exitContainer(container: string, exitCode: number): void {
    const c = this.existing(container);
    if (c.state !== "running") throw new K3boxError(`${container} is not running`);
    containers.finish(this.state, c, exitCode);
  }

  /** The container's filesystem, volumes and binds mounted, to look at or change directly. */
  files(container: string): ContainerFiles {
    return containers.filesOf(this.state, this.existing(container));
  }

  /** The addresses `name` resolves to inside `from`, as Docker's embedded DNS answers. */
  resolve(from: string, name: string): string[] {
    return networks.resolveName(this.state, this.existing(from), name);
  }

  private existing(container: string) {
    const c = this.state.container(container);
    if (c === undefined) throw new NotFoundError(`no container ${container} in the memory engine`);
    return c;
  }

  // ---- What tests check and control ----

  /** Runs `fn` at every call of `method` ("*": every call), before the engine's work or after it. */
  onCall(method: RuntimeMethod | "*", fn: (call: Call) => void | Promise<void>, when: When = "before"): () => void {
    return this.gate.onCall(method, fn, when);
  }

  /** Makes matching calls fail: the nth, a number of them, or all; see FailureRule. */
  failOn(method: RuntimeMethod | "*", rule?: FailureRule): () => void {
    return this.gate.failOn(method, rule);
  }

  /** Every call that got past an already-aborted signal, in order. */
  get calls(): readonly Call[] {
    return this.gate.calls;
  }

  /** Every call that may change the engine, in order, with whether it did. */
  get journal(): readonly JournalEntry[] {
    return this.gate.journal;
  }

  /** The changes made, in order, as "method name…" lines: `createContainer k3box-x-server-0`. */
  changes(): string[] {
    return this.gate.journal.filter((e) => e.applied).map((e) => [e.method, ...e.names].join(" "));
  }

  snapshot(): EngineSnapshot {
    const s = this.state;
    return {
      containers: [...s.containers.values()].map((c) => c.name).sort(),
      networks: [...s.networks.values()]
        .filter((n) => !n.builtin)
        .map((n) => n.name)
        .sort(),
      volumes: [...s.volumes.keys()].sort(),
    };
  }

  /** Nothing but images and the built-in networks: what a rolled-back operation must leave. */
  isEmpty(): boolean {
    const { containers: c, networks: n, volumes: v } = this.snapshot();
    return c.length === 0 && n.length === 0 && v.length === 0;
  }
}
