import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { parseNodeFilters, splitFilterSuffix } from "./filters.js";
import type { NodeFilter, VolumeMount } from "./types.js";

const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const OPTION_RE =
  /^(ro|rw|z|Z|shared|rshared|slave|rslave|private|rprivate|nocopy)(,(ro|rw|z|Z|shared|rshared|slave|rslave|private|rprivate|nocopy))*$/;

/** Parses `[SOURCE:]DEST[:OPTIONS][@FILTER]`; a relative source path is taken from the working directory. */
export function parseVolumeMount(raw: string, cwd = process.cwd()): VolumeMount {
  const { value, filter } = splitFilterSuffix(raw.trim());
  const filters: NodeFilter[] = filter === undefined ? [] : parseNodeFilters(filter, `volume "${raw}"`);
  const parts = value.split(":");
  let source: string | undefined;
  let destination: string;
  let options: string | undefined;
  if (parts.length === 1) {
    destination = parts[0] as string;
  } else if (parts.length === 2) {
    if (OPTION_RE.test(parts[1] as string)) {
      [destination, options] = parts as [string, string];
    } else {
      [source, destination] = parts as [string, string];
    }
  } else if (parts.length === 3) {
    [source, destination, options] = parts as [string, string, string];
  } else {
    throw new UsageError(`invalid volume "${raw}": expected [SOURCE:]DEST[:OPTIONS][@FILTER]`);
  }
  if (!isAbsolute(destination)) {
    throw new UsageError(`invalid volume "${raw}": destination "${destination}" must be an absolute path`);
  }
  if (options !== undefined && !OPTION_RE.test(options)) {
    throw new UsageError(`invalid volume "${raw}": unknown mount option "${options}"`);
  }
  if (source !== undefined) {
    if (source === "") throw new UsageError(`invalid volume "${raw}": empty source`);
    if (source.startsWith(".") || source.startsWith("~") || source.includes("/")) {
      source = source.startsWith("~/") ? resolve(process.env.HOME ?? "/", source.slice(2)) : resolve(cwd, source);
    } else if (!VOLUME_NAME_RE.test(source)) {
      throw new UsageError(`invalid volume "${raw}": "${source}" is neither a path nor a valid volume name`);
    }
  }
  return {
    ...(source !== undefined ? { source } : {}),
    destination,
    ...(options !== undefined ? { options } : {}),
    filters,
    raw,
  };
}

/** The `[SOURCE:]DEST[:OPTIONS]` text of a mount, without its filters. */
export function formatVolumeMount(v: VolumeMount): string {
  return [v.source, v.destination, v.options].filter((p) => p !== undefined).join(":");
}
