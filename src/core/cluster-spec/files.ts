import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, isAbsolute, join, posix, resolve } from "node:path";
import { UsageError } from "../../base/errors.js";
import { parseNodeFilters, splitFilterSuffix } from "./filters.js";
import type { NodeFile, NodeFilter } from "./types.js";

/** The k3s auto-deploy directory: every server applies what it finds there. */
export const K3S_MANIFESTS_DIR = "/var/lib/rancher/k3s/server/manifests";

/** Image archives k3s imports into containerd when it starts, before anything runs. */
export const K3S_AGENT_IMAGES_DIR = "/var/lib/rancher/k3s/agent/images";

/**
 * Destination shortcuts: `k3s-manifests/app.yaml` is `/var/lib/rancher/k3s/server/manifests/app.yaml`.
 * k3d's names, plus `k3s-images` (tarballs k3s imports at start).
 */
export const PATH_SHORTCUTS: Readonly<Record<string, string>> = {
  "k3s-storage": "/var/lib/rancher/k3s/storage",
  "k3s-manifests": K3S_MANIFESTS_DIR,
  "k3s-manifests-custom": `${K3S_MANIFESTS_DIR}/custom`,
  "k3s-images": K3S_AGENT_IMAGES_DIR,
  "k3s-containerd": "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
  "k3s-containerd-tmpl": "/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl",
  "k3s-registry-config": "/etc/rancher/k3s/registries.yaml",
};

/** A file for the nodes: from a host path or given inline. */
export interface FileInput {
  /** A host path; relative to the working directory. */
  readonly source?: string;
  /** The content itself, instead of a source. */
  readonly content?: string | Buffer;
  /** An absolute path in the node, or one starting with a shortcut such as `k3s-manifests/`. */
  readonly destination: string;
  /** Node filters such as `server:0;agent:*`; none: every server and agent. */
  readonly filters?: string;
  readonly mode?: number;
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Parses `SRC:DEST[@FILTER]`; the last `:` before DEST separates them. */
export function parseFileFlag(raw: string): FileInput {
  const { value, filter } = splitFilterSuffix(raw.trim());
  const colon = value.lastIndexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    throw new UsageError(`invalid file "${raw}": expected SRC:DEST[@FILTER]`);
  }
  return {
    source: value.slice(0, colon),
    destination: value.slice(colon + 1),
    ...(filter !== undefined ? { filters: filter } : {}),
  };
}

/** Expands a destination shortcut and checks the result is an absolute path. */
export function resolveDestination(destination: string, context: string): string {
  const [head = "", ...rest] = destination.split("/");
  const base = PATH_SHORTCUTS[head];
  const path = base === undefined ? destination : posix.join(base, ...rest);
  if (!isAbsolute(path)) {
    throw new UsageError(
      `invalid destination "${destination}" in ${context}: an absolute path or one starting with ${Object.keys(PATH_SHORTCUTS).join(", ")}`,
    );
  }
  return posix.normalize(path);
}

/** Reads a file's content now, so a missing source fails before anything is created. */
export async function loadNodeFile(input: FileInput, cwd = process.cwd()): Promise<NodeFile> {
  const raw = input.source !== undefined ? `${input.source}:${input.destination}` : input.destination;
  const context = `file "${raw}"`;
  if ((input.source === undefined) === (input.content === undefined)) {
    throw new UsageError(`invalid ${context}: give either a source path or inline content`);
  }
  const destination = resolveDestination(input.destination, context);
  // No filter: every node, which the spec builder fills in once the filters given are checked.
  const filters: NodeFilter[] = input.filters === undefined ? [] : parseNodeFilters(input.filters, context);
  const content = input.content ?? (await readSource(resolve(cwd, input.source as string), context));
  return { destination, content, mode: input.mode ?? 0o644, filters, raw };
}

export async function readSource(path: string, context: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`${context}: cannot read ${path}: ${describeFsError(err)}`, { cause: err });
  }
}

/**
 * A manifest file, or a directory of them (`*.yaml`, `*.yml`, `*.json`, not recursive), for
 * every server's auto-deploy directory. Each gets a name unique to its source path, so two
 * `app.yaml` from different directories, or a manifest called `coredns.yaml`, clash with nothing.
 */
export async function loadManifests(path: string, cwd = process.cwd()): Promise<NodeFile[]> {
  const context = `manifest "${path}"`;
  const sources = await manifestFiles(path, context, cwd);
  const filters = parseNodeFilters("server:*", context);
  return Promise.all(
    sources.map(async (source) => ({
      destination: `${K3S_MANIFESTS_DIR}/${manifestFileName(source)}`,
      content: await readSource(source, context),
      mode: 0o644,
      filters,
      raw: path,
      origin: "manifest" as const,
    })),
  );
}

/**
 * The manifest files a path names: the file itself, or a directory's `*.yaml`, `*.yml` and
 * `*.json` (not recursive, no dotfiles), in name order; `context` starts the error messages.
 */
export async function manifestFiles(path: string, context: string, cwd = process.cwd()): Promise<string[]> {
  const full = resolve(cwd, path);
  let isDir: boolean;
  try {
    isDir = (await stat(full)).isDirectory();
  } catch (err) {
    throw new UsageError(`${context}: cannot read ${full}: ${describeFsError(err)}`, { cause: err });
  }
  const sources = isDir
    ? (await readdir(full, { withFileTypes: true }))
        .filter((e) => e.isFile() && !e.name.startsWith(".") && MANIFEST_EXTENSIONS.has(extname(e.name)))
        .map((e) => join(full, e.name))
        .sort()
    : [full];
  if (sources.length === 0) throw new UsageError(`${context}: the directory ${full} holds no .yaml, .yml or .json file`);
  return sources;
}

function manifestFileName(source: string): string {
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 8);
  return `k3box-${hash}-${basename(source)}`;
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return (err as Error).message;
}
