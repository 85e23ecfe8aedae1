/** Volumes: named ones live until removed; anonymous ones go with their container. */
import type { Labels, VolumeSpec } from "../../../src/runtime/types.js";
import { engineError } from "./failure.js";
import { FileTree } from "./files.js";
import { newId } from "./ids.js";
import { matchesLabels } from "./labels.js";
import type { EngineState, VolumeRecord } from "./state.js";

/** Docker answers a second create of a name with the volume that exists, labels unchanged. */
export function createVolume(state: EngineState, spec: VolumeSpec): VolumeRecord {
  const existing = state.volumes.get(spec.name);
  if (existing) return existing;
  const volume: VolumeRecord = { name: spec.name, labels: { ...spec.labels }, anonymous: false, files: new FileTree() };
  state.volumes.set(volume.name, volume);
  return volume;
}

export function createAnonymousVolume(state: EngineState): VolumeRecord {
  const volume: VolumeRecord = { name: newId(), labels: {}, anonymous: true, files: new FileTree() };
  state.volumes.set(volume.name, volume);
  return volume;
}

function users(state: EngineState, name: string): string[] {
  return [...state.containers.values()].filter((c) => c.volumes.some((m) => m.volume === name)).map((c) => c.id);
}

/** Any container that mounts it, running or not, keeps a volume in use. */
export function removeVolume(state: EngineState, name: string): void {
  if (!state.volumes.has(name)) throw engineError(404, `get ${name}: no such volume`);
  const using = users(state, name);
  if (using.length > 0) throw engineError(409, `remove ${name}: volume is in use - [${using.join(", ")}]`);
  state.volumes.delete(name);
}

/** A removed container's anonymous volumes, unless another container mounted one by its name. */
export function removeAnonymousVolumes(state: EngineState, names: readonly string[]): void {
  for (const name of names) {
    if (state.volumes.get(name)?.anonymous && users(state, name).length === 0) state.volumes.delete(name);
  }
}

export function listVolumes(state: EngineState, labels: Labels): string[] {
  return [...state.volumes.values()].filter((v) => matchesLabels(v.labels, labels)).map((v) => v.name);
}
