import type Docker from "dockerode";
import { PassThrough, Readable, pipeline, type Duplex } from "node:stream";
import { createInterface } from "node:readline";
import { abortError } from "../../base/abort.js";
import { K3boxError, NotFoundError } from "../../base/errors.js";
import type {
  ContainerInfo,
  ContainerSpec,
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
  EnginePlace,
  StreamedFile,
  VolumeSpec,
} from "../types.js";
import { connect, placeOf, type Connection } from "./connect.js";
import { resolveEndpoint, type EngineChoice, type EngineEndpoint } from "./endpoint.js";
import { mapEngineError, mapPullError } from "./errors.js";
import { fromInspect, fromNetworkInspect, labelFilter, toCreateOptions } from "./translate.js";

export interface DockerRuntimeOptions {
  /** A client made elsewhere (it is taken to be on this machine). */
  readonly docker?: Docker;
  /** The engine to use: a URL or a Docker context. Without one, as DOCKER_HOST and the Docker contexts say. */
  readonly engine?: EngineChoice;
  /** The environment the engine is chosen from (default: the process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Rejects as soon as the signal aborts, so a hung engine call never blocks cancellation. */
/**
 * Runs an engine call that creates something, or changes what a rollback must undo. It is not
 * cut short by the signal: once sent, the engine carries it out anyway, and a caller that gave
 * up early could not record its undo. It is not started after an abort.
 */
async function guardChange<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>, map?: MapError): Promise<T> {
  if (signal?.aborted) throw abortError(signal, what);
  return guard(what, undefined, fn, map);
}

type MapError = (err: unknown, what: string, signal?: AbortSignal, engine?: string) => Error;

async function guard<T>(
  what: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
  map: MapError = mapEngineError,
): Promise<T> {
  if (signal?.aborted) throw abortError(signal, what);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal as AbortSignal, what));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(), aborted]);
  } catch (err) {
    throw map(err, what, signal);
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError || (err as { statusCode?: number } | null)?.statusCode === 404;
}

export class DockerRuntime implements Runtime {
  private client: Promise<Connection> | undefined;
  private resolved: EngineEndpoint | undefined;

  constructor(private readonly options: DockerRuntimeOptions = {}) {
    if (options.docker) this.client = Promise.resolve({ docker: options.docker });
  }

  /** The engine this runtime talks to, and why that one. Throws for one that cannot be named (exit 3). */
  endpoint(): EngineEndpoint {
    if (this.options.docker) return { host: "unix:///var/run/docker.sock", reason: "a client given to k3box", name: "docker" };
    this.resolved ??= resolveEndpoint(this.options.engine, this.options.env ?? process.env);
    return this.resolved;
  }

  place(): Promise<EnginePlace> {
    return this.options.docker ? Promise.resolve({ endpoint: "docker" }) : placeOf(this.endpoint());
  }

  /** Closes the connection to the engine (an ssh connection, say); the next call opens a new one. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    (await client?.catch(() => undefined))?.ssh?.close();
  }

  /** The engine client, made on the first call: commands that never reach the engine do not load it. */
  private async engine(): Promise<Docker> {
    if (this.client === undefined) {
      const client = (async () => connect(this.endpoint()))();
      this.client = client;
      // A failed connection is not kept: the next call tries again.
      client.catch(() => {
        if (this.client === client) this.client = undefined;
      });
    }
    return (await this.client).docker;
  }

  private guard<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (docker: Docker) => Promise<T>,
    map: MapError = mapEngineError,
  ): Promise<T> {
    return guard(
      what,
      signal,
      async () => fn(await this.engine()),
      (err, w, s) => map(err, w, s, this.resolved?.host),
    );
  }

  private guardChange<T>(what: string, signal: AbortSignal | undefined, fn: (docker: Docker) => Promise<T>): Promise<T> {
    return guardChange(
      what,
      signal,
      async () => fn(await this.engine()),
      (err, w, s) => mapEngineError(err, w, s, this.resolved?.host),
    );
  }

  info(signal?: AbortSignal): Promise<RuntimeInfo> {
    return this.guard("docker info", signal, async (docker) => {
      const [info, version] = await Promise.all([docker.info(), docker.version()]);
      const i = info as {
        ID?: string;
        OperatingSystem?: string;
        OSType?: string;
        Architecture?: string;
        CgroupVersion?: string;
        CgroupDriver?: string;
        SecurityOptions?: string[];
      };
      const rootless = (i.SecurityOptions ?? []).some((o) => o.includes("name=rootless"));
      return {
        id: i.ID ?? "",
        // Podman's Docker-compatible API says so only among the components of its version.
        name: (version.Components ?? []).some((c) => c.Name === "Podman Engine") ? "podman" : "docker",
        ...(rootless ? { rootless } : {}),
        version: version.Version,
        apiVersion: version.ApiVersion,
        os: i.OSType ?? "linux",
        arch: i.Architecture ?? "",
        ...(i.CgroupVersion ? { cgroupVersion: i.CgroupVersion } : {}),
        ...(i.CgroupDriver ? { cgroupDriver: i.CgroupDriver } : {}),
      };
    });
  }

  imageExists(ref: string, signal?: AbortSignal): Promise<boolean> {
    return this.guard(`inspect image ${ref}`, signal, async (docker) => {
      try {
        await docker.getImage(ref).inspect();
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    });
  }

  inspectImage(ref: string, signal?: AbortSignal): Promise<ImageInfo | undefined> {
    return this.guard(`inspect image ${ref}`, signal, async (docker) => {
      try {
        const i = await docker.getImage(ref).inspect();
        const variant = (i as { Variant?: string }).Variant;
        return {
          id: i.Id,
          tags: i.RepoTags ?? [],
          os: i.Os,
          architecture: i.Architecture,
          ...(variant ? { variant } : {}),
          size: i.Size,
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  saveImages(refs: readonly string[], signal?: AbortSignal): Promise<Readable> {
    return this.guard(`save images ${refs.join(", ")}`, signal, async (docker) => {
      const opts = { names: [...refs], ...(signal ? { abortSignal: signal } : {}) };
      // GET /images/get?names=…: dockerode has it, its type definitions do not.
      const engine = docker as unknown as { getImages(o: typeof opts): Promise<Readable> };
      return engine.getImages(opts);
    });
  }

  loadImages(archive: Readable, signal?: AbortSignal): Promise<string[]> {
    return this.guardChange("load images", signal, async (docker) => {
      const loaded: string[] = [];
      const stream = (await docker.loadImage(archive, { quiet: true, abortSignal: signal })) as Readable;
      await this.follow<{ stream?: string }>(docker, stream, "load images", (e) => {
        const m = /^Loaded image(?: ID)?: (\S+)/.exec(e.stream?.trim() ?? "");
        if (m) loaded.push(m[1] as string);
      });
      return loaded;
    });
  }

  pullImage(ref: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    return this.guard(
      `pull image ${ref}`,
      signal,
      async (docker) => {
        const stream = (await docker.pull(ref, { abortSignal: signal })) as Readable;
        await this.follow<{ status?: string; progressDetail?: { current?: number; total?: number } }>(
          docker,
          stream,
          `pull image ${ref}`,
          (e) =>
            onProgress?.({
              image: ref,
              status: e.status ?? "",
              ...(e.progressDetail?.current !== undefined ? { current: e.progressDetail.current } : {}),
              ...(e.progressDetail?.total !== undefined ? { total: e.progressDetail.total } : {}),
            }),
        );
      },
      mapPullError,
    );
  }

  buildImage(build: ImageBuild, onLine?: (line: string) => void, signal?: AbortSignal): Promise<void> {
    const { tag } = build;
    return this.guard(`build image ${tag}`, signal, async (docker) => {
      const stream = await docker.buildImage(await packTar(build.context), {
        t: tag,
        labels: { ...build.labels },
        ...(build.buildArgs ? { buildargs: { ...build.buildArgs } } : {}),
        abortSignal: signal,
      });
      await this.follow<{ stream?: string }>(docker, stream, `build image ${tag}`, (e) => {
        if (e.stream?.trim()) onLine?.(e.stream.trimEnd());
      });
    });
  }

  /** Reads an engine progress stream to its end; an `error` entry in it fails the call. */
  private follow<E>(docker: Docker, stream: NodeJS.ReadableStream, what: string, onEvent: (e: E) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = output?.find((o) => o.error);
          if (err) reject(err);
          else if (failed) reject(new K3boxError(`${what}: ${failed.error?.trim()}`));
          else resolve();
        },
        onEvent,
      );
    });
  }

  createNetwork(spec: NetworkSpec, signal?: AbortSignal): Promise<NetworkInfo> {
    return this.guardChange(`create network ${spec.name}`, signal, async (docker) => {
      const net = await docker.createNetwork({
        Name: spec.name,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: { ...spec.labels },
        Options: { "com.docker.network.bridge.enable_ip_masquerade": "true" },
        ...(spec.subnet !== undefined ? { IPAM: { Driver: "default", Config: [{ Subnet: spec.subnet }] } } : {}),
      });
      return fromNetworkInspect((await net.inspect()) as Docker.NetworkInspectInfo);
    });
  }

  inspectNetwork(name: string, signal?: AbortSignal): Promise<NetworkInfo | undefined> {
    return this.guard(`inspect network ${name}`, signal, async (docker) => {
      try {
        return fromNetworkInspect((await docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  removeNetwork(name: string, signal?: AbortSignal): Promise<void> {
    return this.guard(`remove network ${name}`, signal, async (docker) => {
      try {
        await docker.getNetwork(name).remove();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  listNetworks(labels: Labels, signal?: AbortSignal): Promise<NetworkInfo[]> {
    return this.guard("list networks", signal, async (docker) => {
      const nets = await docker.listNetworks({ filters: { label: labelFilter(labels) } });
      return nets.map((n) => fromNetworkInspect(n as Docker.NetworkInspectInfo));
    });
  }

  disconnectNetwork(network: string, container: string, signal?: AbortSignal): Promise<void> {
    return this.guard(`disconnect ${container} from ${network}`, signal, async (docker) => {
      try {
        await docker.getNetwork(network).disconnect({ Container: container, Force: true });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  connectNetwork(network: string, container: string, aliases: readonly string[], signal?: AbortSignal): Promise<void> {
    return this.guardChange(`connect ${container} to ${network}`, signal, async (docker) => {
      await docker.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: [...aliases] } });
    });
  }

  createVolume(spec: VolumeSpec, signal?: AbortSignal): Promise<void> {
    return this.guardChange(`create volume ${spec.name}`, signal, async (docker) => {
      await docker.createVolume({ Name: spec.name, Labels: { ...spec.labels } });
    });
  }

  removeVolume(name: string, signal?: AbortSignal): Promise<void> {
    return this.guard(`remove volume ${name}`, signal, async (docker) => {
      try {
        await docker.getVolume(name).remove();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  listVolumes(labels: Labels, signal?: AbortSignal): Promise<string[]> {
    return this.guard("list volumes", signal, async (docker) => {
      const res = await docker.listVolumes({ filters: { label: labelFilter(labels) } });
      return (res.Volumes ?? []).map((v) => v.Name);
    });
  }

  inspectVolume(name: string, signal?: AbortSignal): Promise<VolumeSpec | undefined> {
    return this.guard(`inspect volume ${name}`, signal, async (docker) => {
      try {
        const v = (await docker.getVolume(name).inspect()) as { Name: string; Labels?: Record<string, string> | null };
        return { name: v.Name, labels: { ...(v.Labels ?? {}) } };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    return this.guardChange(`create container ${spec.name}`, signal, async (docker) => {
      const c = await docker.createContainer(toCreateOptions(spec));
      return c.id;
    });
  }

  startContainer(name: string, signal?: AbortSignal): Promise<void> {
    return this.guard(`start container ${name}`, signal, async (docker) => {
      try {
        await docker.getContainer(name).start();
      } catch (err) {
        // 304: already running.
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
      }
    });
  }

  stopContainer(name: string, timeoutSeconds = 10, signal?: AbortSignal): Promise<void> {
    return this.guard(`stop container ${name}`, signal, async (docker) => {
      try {
        await docker.getContainer(name).stop({ t: timeoutSeconds });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
      }
    });
  }

  removeContainer(name: string, signal?: AbortSignal): Promise<void> {
    return this.guard(`remove container ${name}`, signal, async (docker) => {
      try {
        await docker.getContainer(name).remove({ force: true, v: true });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  renameContainer(name: string, newName: string, signal?: AbortSignal): Promise<void> {
    return this.guardChange(`rename container ${name} to ${newName}`, signal, async (docker) => {
      await docker.getContainer(name).rename({ name: newName });
    });
  }

  inspectContainer(name: string, signal?: AbortSignal): Promise<ContainerInfo | undefined> {
    return this.guard(`inspect container ${name}`, signal, async (docker) => {
      try {
        return fromInspect(await docker.getContainer(name).inspect());
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  listContainers(labels: Labels, signal?: AbortSignal): Promise<ContainerInfo[]> {
    return this.guard("list containers", signal, async (docker) => {
      const list = await docker.listContainers({ all: true, filters: { label: labelFilter(labels) } });
      const infos = await Promise.all(
        list.map(async (c) => {
          try {
            return fromInspect(await docker.getContainer(c.Id).inspect());
          } catch (err) {
            if (isNotFound(err)) return undefined; // removed between list and inspect
            throw err;
          }
        }),
      );
      return infos.filter((i): i is ContainerInfo => i !== undefined);
    });
  }

  async *logs(
    name: string,
    options: { since?: Date; follow: boolean; tail?: number },
    signal?: AbortSignal,
  ): AsyncIterable<string> {
    const docker = await this.engine();
    const container = docker.getContainer(name);
    const raw = (await guard(`logs of ${name}`, signal, () =>
      container.logs({
        follow: options.follow as true,
        stdout: true,
        stderr: true,
        // Sub-second precision, so that a node restarted within the second of its last run is not read twice.
        ...(options.since ? { since: (options.since.getTime() / 1000).toFixed(3) as unknown as number } : {}),
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        ...(signal ? { abortSignal: signal } : {}),
      }),
    )) as unknown as NodeJS.ReadableStream | Buffer;
    const out = new PassThrough();
    if (Buffer.isBuffer(raw)) {
      out.end(demuxBuffer(raw));
    } else {
      docker.modem.demuxStream(raw, out, out);
      raw.on("end", () => out.end());
      raw.on("error", () => out.end());
      const stop = () => {
        (raw as Readable).destroy?.();
        out.end();
      };
      signal?.addEventListener("abort", stop, { once: true });
    }
    const rl = createInterface({ input: out, crlfDelay: Infinity });
    try {
      for await (const line of rl) yield line;
    } finally {
      rl.close();
      if (!Buffer.isBuffer(raw)) (raw as Readable).destroy?.();
    }
  }

  exec(name: string, argv: readonly string[], options: { stdin?: Readable } = {}, signal?: AbortSignal): Promise<ExecResult> {
    const what = `exec ${argv[0] ?? ""} in ${name}`;
    return this.guard(what, signal, async (docker) => {
      const input = options.stdin;
      const exec = await docker.getContainer(name).exec({
        Cmd: [...argv],
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: input !== undefined,
      });
      const stream = (await exec.start({ hijack: true, stdin: input !== undefined })) as unknown as Duplex;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const outS = new PassThrough().on("data", (b: Buffer) => stdout.push(b));
      const errS = new PassThrough().on("data", (b: Buffer) => stderr.push(b));
      docker.modem.demuxStream(stream, outS, errS);
      const done = new Promise<void>((resolve) => {
        stream
          .once("end", resolve)
          .once("close", resolve)
          .once("error", () => resolve());
      });
      const stop = () => stream.destroy();
      signal?.addEventListener("abort", stop, { once: true });
      let cutOff = false;
      // An input that ended or was destroyed while the exec was being made emits nothing more.
      if (input?.readableEnded) stream.end();
      else if (input?.destroyed) {
        cutOff = true;
        stream.destroy();
      } else if (input) {
        // The hijacked connection is a socket: pipe() waits for it to drain, so the
        // engine (and the process behind it) sets the pace.
        input.pipe(stream, { end: false });
        input.once("end", () => stream.end());
        input.once("close", () => {
          if (input.readableEnded) return;
          cutOff = true;
          // Closing the connection closes the process's stdin; it sees a truncated input.
          stream.destroy();
        });
      }
      try {
        await done;
        const info = await this.settled(exec);
        if (cutOff) throw new K3boxError(`${what}: its input was cut off`);
        return {
          exitCode: info.ExitCode ?? -1,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        };
      } finally {
        signal?.removeEventListener("abort", stop);
      }
    });
  }

  /**
   * The exec's final state. The connection can close before the process exits (a cut-off
   * input, or a proxy to a remote engine that does not keep half-closed connections open),
   * so a process still running is waited for.
   */
  private async settled(exec: Docker.Exec): Promise<{ ExitCode: number | null; Running: boolean }> {
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const info = (await exec.inspect()) as { ExitCode: number | null; Running: boolean };
      if (!info.Running) return info;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  putFiles(name: string, files: readonly FileEntry[], signal?: AbortSignal): Promise<void> {
    return this.guard(`copy files into ${name}`, signal, async (docker) => {
      await docker.getContainer(name).putArchive(await packTar(files), { path: "/" });
    });
  }

  putFileStream(name: string, file: StreamedFile, signal?: AbortSignal): Promise<void> {
    return this.guard(`copy ${file.path} into ${name}`, signal, async (docker) => {
      const pack = (await tarStream()).pack();
      const header = { name: file.path.replace(/^\/+/, ""), mode: file.mode ?? 0o644, size: file.size };
      const entry = pack.entry(header, (err?: Error | null) => (err ? pack.destroy(err) : pack.finalize()));
      // A failing source, or one whose length is not `size`, fails the archive and with it the request.
      pipeline(file.content, entry, (err?: Error | null) => {
        if (err) pack.destroy(err);
      });
      try {
        await docker.getContainer(name).putArchive(Readable.from(pack as AsyncIterable<Buffer>), { path: "/" });
      } finally {
        file.content.destroy();
      }
    });
  }

  async readFile(name: string, path: string, signal?: AbortSignal): Promise<Buffer> {
    return (await this.readFileEntry(name, path, signal)).content as Buffer;
  }

  readFileEntry(name: string, path: string, signal?: AbortSignal): Promise<FileEntry> {
    return this.guard(`read ${path} from ${name}`, signal, async (docker) => {
      const stream = (await docker.getContainer(name).getArchive({ path })) as unknown as Readable;
      const { content, mode } = await firstFileOfTar(stream, `${name}:${path}`);
      return { path, content, mode };
    });
  }
}

/** The tar package is loaded by the calls that move files, not by every engine call. */
async function tarStream(): Promise<typeof import("tar-stream")> {
  return (await import("tar-stream")).default;
}

async function packTar(files: readonly FileEntry[]): Promise<Readable> {
  const pack = (await tarStream()).pack();
  for (const f of files) {
    const name = f.path.replace(/^\/+/, "");
    if (name.endsWith("/")) {
      pack.entry({ name, type: "directory", mode: f.mode ?? 0o755 });
      continue;
    }
    const content = typeof f.content === "string" ? Buffer.from(f.content) : f.content;
    pack.entry({ name, mode: f.mode ?? 0o644, size: content.length }, content);
  }
  pack.finalize();
  return Readable.from(pack as AsyncIterable<Buffer>);
}

async function firstFileOfTar(stream: Readable, what: string): Promise<{ content: Buffer; mode: number }> {
  const tar = await tarStream();
  return new Promise((resolve, reject) => {
    const extract = tar.extract();
    let found: { content: Buffer; mode: number } | undefined;
    let linkTarget: string | undefined;
    // The archive of a directory starts with the directory and goes on with what it holds: only
    // the first entry is the path asked for.
    let first = true;
    extract.on("entry", (header, body, next) => {
      const isFirst = first;
      first = false;
      const chunks: Buffer[] = [];
      body.on("data", (c: unknown) => chunks.push(c as Buffer));
      body.on("end", () => {
        if (isFirst && header.type === "file") found = { content: Buffer.concat(chunks), mode: (header.mode ?? 0o644) & 0o7777 };
        if (isFirst && header.type === "symlink") linkTarget = header.linkname ?? undefined;
        next();
      });
      body.resume();
    });
    extract.on("finish", () => {
      if (found !== undefined) resolve(found);
      else reject(new K3boxError(`${what} is not a regular file${linkTarget ? ` (a link to ${linkTarget})` : ""}`));
    });
    extract.on("error", reject);
    stream.pipe(extract);
  });
}

/** Log output fetched without follow comes as one buffer in Docker's 8-byte-header frame format. */
function demuxBuffer(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i];
    if (type !== 0 && type !== 1 && type !== 2) return buf; // a TTY container: not framed
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts);
}
