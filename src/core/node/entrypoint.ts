/**
 * The script every k3s node starts with, and the host entries it reads. One copy
 * of the script, images/node/k3box-entrypoint.sh, serves both the files k3box
 * puts into nodes and the node image (Dockerfile.node).
 */
import { readFile } from "node:fs/promises";
import type { FileEntry } from "../../runtime/types.js";
import type { HostAlias } from "../cluster-spec/types.js";

/** Where the script lives in a node; the node image has it there too. */
export const NODE_ENTRYPOINT_PATH = "/bin/k3box-entrypoint.sh";
/** Host entries beyond host.k3box.internal, one `IP NAME...` line each. */
export const HOST_ALIASES_PATH = "/etc/k3box/hosts";
/**
 * A node with a memory limit gets this file, and the entrypoint mounts it over /proc/meminfo, so
 * the kubelet (cadvisor) sees the limit as the machine's memory instead of the host's.
 */
export const MEMINFO_PATH = "/etc/k3box/meminfo";

/** The script's place in the package (and in the repository): the same depth from src/ and dist/. */
export const NODE_ENTRYPOINT_SOURCE = new URL("../../../images/node/k3box-entrypoint.sh", import.meta.url);

export async function loadNodeEntrypoint(): Promise<string> {
  return readFile(NODE_ENTRYPOINT_SOURCE, "utf8");
}

/** The fake /proc/meminfo of a node limited to `bytes`: what cadvisor reads, in kB. */
export function meminfoFile(bytes: number): FileEntry {
  return { path: MEMINFO_PATH, content: `MemTotal: ${Math.floor(bytes / 1024)} kB\nSwapTotal: 0 kB\n`, mode: 0o644 };
}

/** The files the entrypoint needs in a node before it first starts. */
export function entrypointFiles(script: string, aliases: readonly HostAlias[]): FileEntry[] {
  const files: FileEntry[] = [{ path: NODE_ENTRYPOINT_PATH, content: script, mode: 0o755 }];
  if (aliases.length > 0) {
    files.push({ path: HOST_ALIASES_PATH, content: aliases.map((a) => `${a.ip} ${a.names.join(" ")}\n`).join(""), mode: 0o644 });
  }
  return files;
}
