/** Containers: creation from an image, the created → running → exited cycle, ports, and inspect. */
import type { ContainerInfo, ContainerSpec, Labels, Mount, PublishedPort } from "../../../src/runtime/types.js";
import type { ProcessContext } from "./behaviour.js";
import { engineError } from "./failure.js";
import { ContainerFiles, FileTree, normalizePath, type MountedTree } from "./files.js";
import { VALID_NAME, newId, shortId } from "./ids.js";
import { matchesLabels } from "./labels.js";
import { LogBuffer } from "./logs.js";
import { activateEndpoints, checkEndpoints, deactivateEndpoints } from "./networks.js";
import type { ContainerRecord, EngineState, VolumeMount } from "./state.js";
import { createAnonymousVolume, createVolume, removeAnonymousVolumes } from "./volumes.js";

/** The exit code of a process ended by the stop signal it did not handle (128 + SIGTERM). */
export const STOPPED_EXIT_CODE = 143;
/** Docker's exit code for a start that failed before the process ran. */
const FAILED_START_EXIT_CODE = 128;
/** Where Docker's ephemeral host ports begin. */
const FIRST_EPHEMERAL_PORT = 32768;

function nameInUse(name: string, id: string): string {
  return `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`;
}

export function createContainer(state: EngineState, spec: ContainerSpec): ContainerRecord {
  if (!VALID_NAME.test(spec.name)) {
    throw engineError(400, `Invalid container name (${spec.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  if ((spec.mounts ?? []).some((m) => m.type === "volume" && m.source === "" && m.readOnly)) {
    throw engineError(400, 'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes');
  }
  const image = state.images.find(spec.image);
  if (image === undefined) throw engineError(404, `No such image: ${spec.image}`);
  const taken = state.container(spec.name);
  if (taken?.name === spec.name) throw engineError(409, nameInUse(spec.name, taken.id));

  const id = newId();
  const volumes: VolumeMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (m.type !== "volume") continue;
    // A named volume that does not exist yet is made, unlabelled; one without a name is the container's own.
    const volume = m.source === "" ? createAnonymousVolume(state) : createVolume(state, { name: m.source, labels: {} });
    volumes.push({ target: m.target, volume: volume.name, readOnly: m.readOnly ?? false });
  }
  for (const target of image.config.volumes ?? []) {
    const covered = (spec.mounts ?? []).some((m) => normalizePath(m.target) === normalizePath(target));
    if (!covered) volumes.push({ target, volume: createAnonymousVolume(state).name, readOnly: false });
  }
  const entrypoint = spec.entrypoint ?? image.config.entrypoint;
  // An entrypoint given at create time drops the image's CMD, as in Docker.
  const cmd = spec.cmd ?? (spec.entrypoint === undefined ? image.config.cmd : undefined);
  const c: ContainerRecord = {
    id,
    name: spec.name,
    spec: structuredClone(spec),
    config: {
      hostname: spec.hostname ?? shortId(id),
      env: { ...image.config.env, ...spec.env },
      ...(entrypoint ? { entrypoint: [...entrypoint] } : {}),
      ...(cmd ? { cmd: [...cmd] } : {}),
      labels: { ...image.config.labels, ...spec.labels },
    },
    created: state.nextCreated(),
    state: "created",
    exitCode: 0,
    endpoints: new Map([
      [spec.network, { networkId: state.network(spec.network)?.id ?? "", aliases: [...(spec.networkAliases ?? [])], ip: "" }],
    ]),
    volumes,
    activePorts: [],
    files: new FileTree(),
    logs: new LogBuffer(),
  };
  const files = filesOf(state, c);
  for (const f of image.config.files ?? []) files.write(f);
  state.containers.set(id, c);
  return c;
}

/** The container's filesystem with its volumes and binds mounted. */
export function filesOf(state: EngineState, c: ContainerRecord): ContainerFiles {
  const mounts: MountedTree[] = c.volumes.map((m) => ({
    target: normalizePath(m.target),
    tree: state.volumes.get(m.volume)?.files ?? new FileTree(),
    base: "",
    readOnly: m.readOnly,
  }));
  for (const m of c.spec.mounts ?? []) {
    if (m.type === "bind")
      mounts.push({
        target: normalizePath(m.target),
        tree: state.host,
        base: normalizePath(m.source),
        readOnly: m.readOnly ?? false,
      });
  }
  return new ContainerFiles(() => c.name, c.files, mounts);
}

function sameAddress(a: string, b: string): boolean {
  const any = (ip: string) => ip === "" || ip === "0.0.0.0";
  return a === b || any(a) || any(b);
}

/** Host ports for a start: fixed ones must be free, 0 gets the lowest free ephemeral port. */
function bindPorts(state: EngineState, c: ContainerRecord): PublishedPort[] {
  const active = [...state.containers.values()].flatMap((o) => o.activePorts);
  const bound: PublishedPort[] = [];
  for (const p of configuredPorts(c)) {
    const hostIp = p.hostIp === "" ? "0.0.0.0" : p.hostIp;
    let hostPort = p.hostPort;
    if (hostPort === 0) {
      const used = new Set([...active, ...bound].map((a) => a.hostPort));
      for (hostPort = FIRST_EPHEMERAL_PORT; used.has(hostPort); hostPort++);
    } else if (
      [...active, ...bound].some((a) => a.protocol === p.protocol && a.hostPort === hostPort && sameAddress(a.hostIp, hostIp))
    ) {
      throw engineError(
        500,
        `driver failed programming external connectivity on endpoint ${c.name} (${newId()}): Bind for ${hostIp}:${hostPort} failed: port is already allocated`,
      );
    }
    bound.push({ ...p, hostIp, hostPort });
  }
  return bound;
}

/** As Docker orders a port map: by "port/protocol" as text, then as given. */
function configuredPorts(c: ContainerRecord): PublishedPort[] {
  const key = (p: PublishedPort) => `${p.containerPort}/${p.protocol}`;
  return [...(c.spec.ports ?? [])].map((p) => ({ ...p })).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function startContainer(state: EngineState, c: ContainerRecord): void {
  if (c.state === "running") return;
  checkEndpoints(state, c);
  try {
    c.activePorts = bindPorts(state, c);
  } catch (err) {
    c.exitCode = FAILED_START_EXIT_CODE;
    throw err;
  }
  activateEndpoints(state, c);
  c.state = "running";
  c.startedAt = state.clock.tick();
  c.exitCode = 0;
  const run = new AbortController();
  c.run = run;
  runProgram(state, c, run);
}

/** Calls the container's program for this run; what it does after the run ended is ignored. */
function runProgram(state: EngineState, c: ContainerRecord, run: AbortController): void {
  const program = state.behaviour.program({ name: c.name, spec: c.spec });
  if (program === undefined) return;
  const ctx: ProcessContext = {
    container: c.name,
    spec: c.spec,
    signal: run.signal,
    log: (...lines) => {
      if (c.run !== run) return;
      for (const l of lines) c.logs.append(state.clock.now(), l);
    },
    exit: (code) => {
      if (c.run === run) finish(state, c, code);
    },
    files: filesOf(state, c),
  };
  try {
    Promise.resolve(program(ctx)).catch(() => ctx.exit(1));
  } catch {
    ctx.exit(1);
  }
}

/** The run ends: its program's signal aborts, addresses and ports are let go, followers of the log are woken. */
export function finish(state: EngineState, c: ContainerRecord, exitCode: number): void {
  const run = c.run;
  c.run = undefined;
  c.state = "exited";
  c.exitCode = exitCode;
  c.finishedAt = state.clock.tick();
  c.activePorts = [];
  deactivateEndpoints(c);
  c.logs.wake();
  run?.abort();
}

export function stopContainer(state: EngineState, c: ContainerRecord): void {
  const run = c.run;
  if (run === undefined) return;
  // The program may exit with a code of its own while it handles the stop.
  run.abort();
  if (c.run === run) finish(state, c, STOPPED_EXIT_CODE);
}

export function removeContainer(state: EngineState, c: ContainerRecord): void {
  const run = c.run;
  c.run = undefined;
  run?.abort();
  state.containers.delete(c.id);
  removeAnonymousVolumes(
    state,
    c.volumes.map((m) => m.volume),
  );
  c.logs.wake();
}

export function renameContainer(state: EngineState, c: ContainerRecord, newName: string): void {
  if (newName === c.name) throw engineError(400, "Renaming a container with the same name as its current name");
  if (!VALID_NAME.test(newName)) {
    throw engineError(
      400,
      `Error when allocating new name: Invalid container name (/${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  const taken = state.container(newName);
  if (taken?.name === newName) throw engineError(409, `Error when allocating new name: ${nameInUse(newName, taken.id)}`);
  c.name = newName;
}

export function listContainers(state: EngineState, labels: Labels): ContainerInfo[] {
  return [...state.containers.values()]
    .filter((c) => matchesLabels(c.config.labels, labels))
    .sort((a, b) => b.created - a.created)
    .map(inspectContainer);
}

const PROPAGATION = /^r?(shared|slave|private)$/;

function specMount(m: Mount): Mount {
  const propagation = m.type === "bind" ? m.options?.find((o) => PROPAGATION.test(o)) : undefined;
  return {
    type: m.type,
    source: m.source,
    target: m.target,
    readOnly: m.readOnly ?? false,
    ...(propagation ? { options: [propagation] } : {}),
  };
}

export function inspectContainer(c: ContainerRecord): ContainerInfo {
  const networks: Record<string, { ip: string }> = {};
  for (const name of [...c.endpoints.keys()].sort()) networks[name] = { ip: c.endpoints.get(name)?.ip ?? "" };
  const mounts: Mount[] = [
    ...c.volumes.map((m) => ({ type: "volume" as const, source: m.volume, target: m.target, readOnly: m.readOnly })),
    ...(c.spec.mounts ?? [])
      .filter((m) => m.type === "bind")
      .map((m) => ({ type: "bind" as const, source: m.source, target: m.target, readOnly: m.readOnly ?? false })),
  ];
  const { spec, config } = c;
  return {
    id: c.id,
    name: c.name,
    image: spec.image,
    labels: { ...config.labels },
    state: c.state,
    running: c.state === "running",
    ...(c.startedAt ? { startedAt: new Date(c.startedAt) } : {}),
    ...(c.finishedAt ? { finishedAt: new Date(c.finishedAt) } : {}),
    exitCode: c.exitCode,
    ports: c.state === "running" ? c.activePorts.map((p) => ({ ...p })) : configuredPorts(c),
    networks,
    env: { ...config.env },
    cmd: [...(config.cmd ?? [])],
    mounts,
    spec: {
      name: c.name,
      image: spec.image,
      hostname: config.hostname,
      ...(config.entrypoint ? { entrypoint: [...config.entrypoint] } : {}),
      ...(config.cmd ? { cmd: [...config.cmd] } : {}),
      env: { ...config.env },
      labels: { ...config.labels },
      privileged: spec.privileged ?? false,
      tmpfs: [...(spec.tmpfs ?? [])].sort(),
      mounts: (spec.mounts ?? []).map(specMount),
      ports: configuredPorts(c),
      network: spec.network,
      networkAliases: [...(c.endpoints.get(spec.network)?.aliases ?? [])],
      restartPolicy: spec.restartPolicy ?? "no",
      init: spec.init ?? false,
    },
  };
}
