import Docker from "dockerode";
import { PassThrough, Readable, type Duplex } from "node:stream";
import { createInterface } from "node:readline";
import tar from "tar-stream";
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
  VolumeSpec,
} from "../types.js";
import { mapEngineError } from "./errors.js";
import { fromInspect, fromNetworkInspect, labelFilter, toCreateOptions } from "./translate.js";

export interface DockerRuntimeOptions {
  /** Defaults to what DOCKER_HOST says, else the local socket. */
  readonly docker?: Docker;
}

/** Rejects as soon as the signal aborts, so a hung engine call never blocks cancellation. */
/**
 * Runs an engine call that creates something, or changes what a rollback must undo. It is not
 * cut short by the signal: once sent, the engine carries it out anyway, and a caller that gave
 * up early could not record its undo. It is not started after an abort.
 */
async function guardChange<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  if (signal?.aborted) throw abortError(signal, what);
  return guard(what, undefined, fn);
}

async function guard<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  if (signal?.aborted) throw abortError(signal, what);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal as AbortSignal, what));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(), aborted]);
  } catch (err) {
    throw mapEngineError(err, what, signal);
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError || (err as { statusCode?: number } | null)?.statusCode === 404;
}

export class DockerRuntime implements Runtime {
  private readonly docker: Docker;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = options.docker ?? new Docker();
  }

  info(signal?: AbortSignal): Promise<RuntimeInfo> {
    return guard("docker info", signal, async () => {
      const [info, version] = await Promise.all([this.docker.info(), this.docker.version()]);
      const i = info as { OperatingSystem?: string; OSType?: string; Architecture?: string; CgroupVersion?: string };
      return {
        name: "docker",
        version: version.Version,
        apiVersion: version.ApiVersion,
        os: i.OSType ?? "linux",
        arch: i.Architecture ?? "",
        ...(i.CgroupVersion ? { cgroupVersion: i.CgroupVersion } : {}),
      };
    });
  }

  imageExists(ref: string, signal?: AbortSignal): Promise<boolean> {
    return guard(`inspect image ${ref}`, signal, async () => {
      try {
        await this.docker.getImage(ref).inspect();
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    });
  }

  inspectImage(ref: string, signal?: AbortSignal): Promise<ImageInfo | undefined> {
    return guard(`inspect image ${ref}`, signal, async () => {
      try {
        const i = await this.docker.getImage(ref).inspect();
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
    return guard(`save images ${refs.join(", ")}`, signal, async () => {
      const opts = { names: [...refs], ...(signal ? { abortSignal: signal } : {}) };
      // GET /images/get?names=…: dockerode has it, its type definitions do not.
      const engine = this.docker as unknown as { getImages(o: typeof opts): Promise<Readable> };
      return engine.getImages(opts);
    });
  }

  pullImage(ref: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    return guard(`pull image ${ref}`, signal, async () => {
      const stream = (await this.docker.pull(ref, { abortSignal: signal })) as Readable;
      await this.follow<{ status?: string; progressDetail?: { current?: number; total?: number } }>(
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
    });
  }

  buildImage(build: ImageBuild, onLine?: (line: string) => void, signal?: AbortSignal): Promise<void> {
    const { tag } = build;
    return guard(`build image ${tag}`, signal, async () => {
      const stream = await this.docker.buildImage(packTar(build.context), {
        t: tag,
        labels: { ...build.labels },
        ...(build.buildArgs ? { buildargs: { ...build.buildArgs } } : {}),
        abortSignal: signal,
      });
      await this.follow<{ stream?: string }>(stream, `build image ${tag}`, (e) => {
        if (e.stream?.trim()) onLine?.(e.stream.trimEnd());
      });
    });
  }

  /** Reads an engine progress stream to its end; an `error` entry in it fails the call. */
  private follow<E>(stream: NodeJS.ReadableStream, what: string, onEvent: (e: E) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
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
    return guardChange(`create network ${spec.name}`, signal, async () => {
      const net = await this.docker.createNetwork({
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
    return guard(`inspect network ${name}`, signal, async () => {
      try {
        return fromNetworkInspect((await this.docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  removeNetwork(name: string, signal?: AbortSignal): Promise<void> {
    return guard(`remove network ${name}`, signal, async () => {
      try {
        await this.docker.getNetwork(name).remove();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  listNetworks(labels: Labels, signal?: AbortSignal): Promise<NetworkInfo[]> {
    return guard("list networks", signal, async () => {
      const nets = await this.docker.listNetworks({ filters: { label: labelFilter(labels) } });
      return nets.map((n) => fromNetworkInspect(n as Docker.NetworkInspectInfo));
    });
  }

  disconnectNetwork(network: string, container: string, signal?: AbortSignal): Promise<void> {
    return guard(`disconnect ${container} from ${network}`, signal, async () => {
      try {
        await this.docker.getNetwork(network).disconnect({ Container: container, Force: true });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  connectNetwork(network: string, container: string, aliases: readonly string[], signal?: AbortSignal): Promise<void> {
    return guardChange(`connect ${container} to ${network}`, signal, async () => {
      await this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: [...aliases] } });
    });
  }

  createVolume(spec: VolumeSpec, signal?: AbortSignal): Promise<void> {
    return guardChange(`create volume ${spec.name}`, signal, async () => {
      await this.docker.createVolume({ Name: spec.name, Labels: { ...spec.labels } });
    });
  }

  removeVolume(name: string, signal?: AbortSignal): Promise<void> {
    return guard(`remove volume ${name}`, signal, async () => {
      try {
        await this.docker.getVolume(name).remove();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  listVolumes(labels: Labels, signal?: AbortSignal): Promise<string[]> {
    return guard("list volumes", signal, async () => {
      const res = await this.docker.listVolumes({ filters: { label: labelFilter(labels) } });
      return (res.Volumes ?? []).map((v) => v.Name);
    });
  }

  createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    return guardChange(`create container ${spec.name}`, signal, async () => {
      const c = await this.docker.createContainer(toCreateOptions(spec));
      return c.id;
    });
  }

  startContainer(name: string, signal?: AbortSignal): Promise<void> {
    return guard(`start container ${name}`, signal, async () => {
      try {
        await this.docker.getContainer(name).start();
      } catch (err) {
        // 304: already running.
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
      }
    });
  }

  stopContainer(name: string, timeoutSeconds = 10, signal?: AbortSignal): Promise<void> {
    return guard(`stop container ${name}`, signal, async () => {
      try {
        await this.docker.getContainer(name).stop({ t: timeoutSeconds });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
      }
    });
  }

  removeContainer(name: string, signal?: AbortSignal): Promise<void> {
    return guard(`remove container ${name}`, signal, async () => {
      try {
        await this.docker.getContainer(name).remove({ force: true, v: true });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  renameContainer(name: string, newName: string, signal?: AbortSignal): Promise<void> {
    return guardChange(`rename container ${name} to ${newName}`, signal, async () => {
      await this.docker.getContainer(name).rename({ name: newName });
    });
  }

  inspectContainer(name: string, signal?: AbortSignal): Promise<ContainerInfo | undefined> {
    return guard(`inspect container ${name}`, signal, async () => {
      try {
        return fromInspect(await this.docker.getContainer(name).inspect());
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  listContainers(labels: Labels, signal?: AbortSignal): Promise<ContainerInfo[]> {
    return guard("list containers", signal, async () => {
      const list = await this.docker.listContainers({ all: true, filters: { label: labelFilter(labels) } });
      const infos = await Promise.all(
        list.map(async (c) => {
          try {
            return fromInspect(await this.docker.getContainer(c.Id).inspect());
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
    const container = this.docker.getContainer(name);
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
      this.docker.modem.demuxStream(raw, out, out);
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
    return guard(what, signal, async () => {
      const input = options.stdin;
      const exec = await this.docker.getContainer(name).exec({
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
      this.docker.modem.demuxStream(stream, outS, errS);
      const done = new Promise<void>((resolve) => {
        stream
          .once("end", resolve)
          .once("close", resolve)
          .once("error", () => resolve());
      });
      const stop = () => stream.destroy();
      signal?.addEventListener("abort", stop, { once: true });
      let cutOff = false;
      if (input) {
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
    return guard(`copy files into ${name}`, signal, async () => {
      await this.docker.getContainer(name).putArchive(packTar(files), { path: "/" });
    });
  }

  async readFile(name: string, path: string, signal?: AbortSignal): Promise<Buffer> {
    return (await this.readFileEntry(name, path, signal)).content as Buffer;
  }

  readFileEntry(name: string, path: string, signal?: AbortSignal): Promise<FileEntry> {
    return guard(`read ${path} from ${name}`, signal, async () => {
      const stream = (await this.docker.getContainer(name).getArchive({ path })) as unknown as Readable;
      const { content, mode } = await firstFileOfTar(stream, `${name}:${path}`);
      return { path, content, mode };
    });
  }
}

function packTar(files: readonly FileEntry[]): Readable {
  const pack = tar.pack();
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

function firstFileOfTar(stream: Readable, what: string): Promise<{ content: Buffer; mode: number }> {
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
