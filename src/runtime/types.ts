/**
 * The container engine as k3box sees it. One implementation talks to Docker;
 * nothing else in k3box does.
 */
import type { Readable } from "node:stream";

export type Labels = Readonly<Record<string, string>>;

export interface PublishedPort {
  readonly containerPort: number;
  readonly protocol: "tcp" | "udp";
  readonly hostIp: string;
  /** 0: the engine picks a free port. */
  readonly hostPort: number;
}

export interface Mount {
  readonly type: "bind" | "volume";
  /** Host path or volume name. */
  readonly source: string;
  readonly target: string;
  readonly readOnly?: boolean;
  /** e.g. "rshared", "z" — passed through to the engine. */
  readonly options?: readonly string[];
}

/** A request for devices (GPUs) the engine attaches, as Docker's `--gpus` makes them. */
export interface DeviceRequest {
  readonly driver?: string;
  /** -1: every device. */
  readonly count?: number;
  readonly deviceIds?: readonly string[];
  readonly capabilities: readonly (readonly string[])[];
  readonly options: Readonly<Record<string, string>>;
}

export interface Ulimit {
  readonly name: string;
  readonly soft: number;
  readonly hard: number;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly hostname?: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly labels: Labels;
  readonly privileged?: boolean;
  readonly tmpfs?: readonly string[];
  readonly mounts?: readonly Mount[];
  readonly ports?: readonly PublishedPort[];
  readonly network: string;
  readonly networkAliases?: readonly string[];
  readonly restartPolicy?: "no" | "unless-stopped" | "always";
  readonly init?: boolean;
  /** Memory limit in bytes; undefined: none. */
  readonly memoryBytes?: number;
  readonly deviceRequests?: readonly DeviceRequest[];
  readonly ulimits?: readonly Ulimit[];
  /** Share the host's PID namespace. */
  readonly hostPid?: boolean;
}

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly labels: Labels;
  readonly state: "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";
  readonly running: boolean;
  readonly startedAt?: Date;
  /** When the previous run ended; kept while the container runs again. */
  readonly finishedAt?: Date;
  readonly exitCode?: number;
  /** How often the engine restarted it by its restart policy (not counting starts asked for). */
  readonly restartCount: number;
  readonly created?: Date;
  readonly ports: readonly PublishedPort[];
  readonly networks: Readonly<Record<string, { readonly ip: string }>>;
  readonly env: Readonly<Record<string, string>>;
  readonly cmd: readonly string[];
  readonly mounts: readonly Mount[];
  /** The settings the container was created with, as far as the engine keeps them: enough to create a sibling. */
  readonly spec: ContainerSpec;
}

export interface NetworkSpec {
  readonly name: string;
  readonly labels: Labels;
  /** An IPv4 CIDR; undefined: the engine picks a free one. */
  readonly subnet?: string;
}

export interface NetworkInfo {
  readonly id: string;
  readonly name: string;
  readonly labels: Labels;
  readonly subnet?: string;
  readonly gateway?: string;
  /** Container names attached to the network. */
  readonly containers: readonly string[];
}

export interface VolumeSpec {
  readonly name: string;
  readonly labels: Labels;
}

export interface FileEntry {
  /** A path ending in "/" is a directory; its content is ignored. */
  readonly path: string;
  readonly content: string | Buffer;
  readonly mode?: number;
}

/** A file whose bytes are read from a stream while it is written: content too big to hold in memory. */
export interface StreamedFile {
  readonly path: string;
  /** The stream's exact length in bytes; a shorter or longer stream fails the write. */
  readonly size: number;
  readonly mode?: number;
  readonly content: Readable;
}

export interface ImageBuild {
  /** The build context, with the Dockerfile at its root as `Dockerfile`. */
  readonly context: readonly FileEntry[];
  readonly tag: string;
  readonly labels: Labels;
  /** Values for the Dockerfile's ARGs. */
  readonly buildArgs?: Readonly<Record<string, string>>;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An image in the engine's store. */
export interface ImageInfo {
  /** The engine's image ID: the config digest (classic store) or the index/manifest digest (containerd store). */
  readonly id: string;
  readonly tags: readonly string[];
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  /** Bytes of all layers, uncompressed: about what `docker save` streams. */
  readonly size: number;
}

export interface PullProgress {
  readonly image: string;
  readonly status: string;
  readonly current?: number;
  readonly total?: number;
}

export interface RuntimeInfo {
  /** The engine's own ID: stable for one engine, different for another. */
  readonly id: string;
  /** `docker`, or `podman` for Podman's Docker-compatible API. */
  readonly name: string;
  readonly version: string;
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
  readonly cgroupVersion?: string;
  /** `cgroupfs` or `systemd`. */
  readonly cgroupDriver?: string;
  /** The engine runs without root (rootless Docker or Podman). */
  readonly rootless?: boolean;
}

/** Where an engine runs, as seen from this machine: known from its address, without asking it. */
export interface EnginePlace {
  /** How k3box names the engine (its address, or a Docker context's name): what finds it again. */
  readonly endpoint: string;
  /** Why this engine: what named it (`--engine`, DOCKER_HOST, a Docker context…). */
  readonly reason?: string;
  /** Undefined: on this machine. Else the host it runs on, as named and as reached from here (IPv4). */
  readonly remote?: { readonly host: string; readonly address: string };
}

/** Each call takes a signal; an aborted call rejects promptly with CancelledError. */
export interface Runtime {
  info(signal?: AbortSignal): Promise<RuntimeInfo>;
  /** Where the engine runs; published ports are on that host. */
  place(): Promise<EnginePlace>;

  imageExists(ref: string, signal?: AbortSignal): Promise<boolean>;
  inspectImage(ref: string, signal?: AbortSignal): Promise<ImageInfo | undefined>;
  /**
   * The images as one tar stream (`docker save`), flowing only as fast as it is read.
   * Destroying the stream, or aborting the signal, stops the engine's export.
   */
  saveImages(refs: readonly string[], signal?: AbortSignal): Promise<Readable>;
  /**
   * Loads a `docker save` archive (plain tar) into the engine's store, reading it as fast as the
   * engine takes it; resolves with the names (or IDs, for untagged images) the engine loaded.
   */
  loadImages(archive: Readable, signal?: AbortSignal): Promise<string[]>;
  pullImage(ref: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void>;
  /** Builds an image from a set of files (the build context). */
  buildImage(build: ImageBuild, onLine?: (line: string) => void, signal?: AbortSignal): Promise<void>;

  createNetwork(spec: NetworkSpec, signal?: AbortSignal): Promise<NetworkInfo>;
  inspectNetwork(name: string, signal?: AbortSignal): Promise<NetworkInfo | undefined>;
  removeNetwork(name: string, signal?: AbortSignal): Promise<void>;
  listNetworks(labels: Labels, signal?: AbortSignal): Promise<NetworkInfo[]>;
  disconnectNetwork(network: string, container: string, signal?: AbortSignal): Promise<void>;
  /** Attaches a container; the aliases become its host names on that network. */
  connectNetwork(network: string, container: string, aliases: readonly string[], signal?: AbortSignal): Promise<void>;

  createVolume(spec: VolumeSpec, signal?: AbortSignal): Promise<void>;
  removeVolume(name: string, signal?: AbortSignal): Promise<void>;
  listVolumes(labels: Labels, signal?: AbortSignal): Promise<string[]>;
  /** A volume's labels; undefined when there is no such volume. */
  inspectVolume(name: string, signal?: AbortSignal): Promise<VolumeSpec | undefined>;

  createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string>;
  startContainer(name: string, signal?: AbortSignal): Promise<void>;
  stopContainer(name: string, timeoutSeconds?: number, signal?: AbortSignal): Promise<void>;
  /** Removes the container and its anonymous volumes; a missing container is not an error. */
  removeContainer(name: string, signal?: AbortSignal): Promise<void>;
  /** Renames a container; its network aliases stay as they were created. */
  renameContainer(name: string, newName: string, signal?: AbortSignal): Promise<void>;
  inspectContainer(name: string, signal?: AbortSignal): Promise<ContainerInfo | undefined>;
  listContainers(labels: Labels, signal?: AbortSignal): Promise<ContainerInfo[]>;

  /** Log lines (stdout and stderr) from `since`, following until the signal aborts or the container stops. */
  logs(name: string, options: { since?: Date; follow: boolean; tail?: number }, signal?: AbortSignal): AsyncIterable<string>;
  /**
   * Runs argv in the container. With `stdin`, its bytes are written to the process as fast as
   * the engine takes them (backpressure) and the input is closed when stdin ends; if stdin is
   * destroyed before its end, the process sees its input cut off and the call rejects once it exited.
   */
  exec(name: string, argv: readonly string[], options?: { stdin?: Readable }, signal?: AbortSignal): Promise<ExecResult>;
  putFiles(name: string, files: readonly FileEntry[], signal?: AbortSignal): Promise<void>;
  /** Writes one file from a stream into the container (created or running), without holding it in memory; a failed write may leave the file cut short. */
  putFileStream(name: string, file: StreamedFile, signal?: AbortSignal): Promise<void>;
  readFile(name: string, path: string, signal?: AbortSignal): Promise<Buffer>;
  /** A regular file with its permission bits, ready to be put into another container. */
  readFileEntry(name: string, path: string, signal?: AbortSignal): Promise<FileEntry>;
}
