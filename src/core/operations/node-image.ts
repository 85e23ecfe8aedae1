/**
 * Builds the k3box node image: a k3s image with the node entrypoint baked in
 * and, optionally, image tarballs that k3s imports at start (offline clusters).
 * The build uses Dockerfile.node and the entrypoint script from the package.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { FileEntry } from "../../runtime/types.js";
import { CancelledError, NotFoundError, UsageError } from "../../base/errors.js";
import { step } from "../events.js";
import { LABEL } from "../labels.js";
import { NODE_ENTRYPOINT_SOURCE } from "../node/entrypoint.js";
import { DEFAULT_K3S_IMAGE } from "../cluster-spec/defaults.js";
import { parseImageReference } from "../cluster-spec/images.js";
import { VERSION } from "../version.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";

export interface NodeImageInput {
  /** The k3s image to build on; defaults to k3box's default k3s image. */
  from?: string;
  /** Defaults to `k3box/node:<tag of from>`. */
  tag?: string;
  /** A directory of image tarballs (`docker save` output, optionally compressed) to preload. */
  preload?: string;
}

export interface NodeImageResult {
  readonly tag: string;
  readonly from: string;
  /** File names put into /var/lib/rancher/k3s/agent/images. */
  readonly preloaded: readonly string[];
}

const DOCKERFILE = new URL("../../../Dockerfile.node", import.meta.url);
/** Where Dockerfile.node takes the script and the preload folder from, relative to the build context. */
const CONTEXT_SCRIPT = "images/node/k3box-entrypoint.sh";
const CONTEXT_PRELOAD = "images/node-preload/";
/** What k3s imports from agent/images: image tarballs, plain or compressed, and pre-pull lists. */
const PRELOADABLE = /\.(tar|tar\.lz4|tar\.bz2|tbz|tar\.gz|tgz|tar\.zst|tzst|txt)$/i;
export const NODE_IMAGE_REPOSITORY = "k3box/node";

/** `k3box/node:<tag>` after the tag of the k3s image it is built from. */
export function defaultNodeImageTag(from: string): string {
  return `${NODE_IMAGE_REPOSITORY}:${parseImageReference(from)?.tag ?? "latest"}`;
}

export function buildNodeImage(input: NodeImageInput, options: OperationOptions = {}): Promise<NodeImageResult> {
  return runOperation("building a node image", options, (op) => build(input, op));
}

async function build(input: NodeImageInput, { runtime, onEvent, signal }: Operation): Promise<NodeImageResult> {
  const from = (input.from ?? DEFAULT_K3S_IMAGE).trim();
  const tag = (input.tag ?? defaultNodeImageTag(from)).trim();
  const problems: string[] = [];
  if (parseImageReference(from) === undefined) problems.push(`invalid image "${from}" for --from`);
  const parsedTag = parseImageReference(tag);
  if (parsedTag === undefined || parsedTag.digest !== undefined) problems.push(`invalid image tag "${tag}" for --tag`);
  const preload = input.preload === undefined ? { files: [], skipped: [] } : await readPreload(input.preload, problems);
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  for (const name of preload.skipped) {
    onEvent({ type: "warning", message: `--preload: skipping "${name}": not an image tarball (.tar, .tar.gz, .tar.zst, ...)` });
  }

  await step(onEvent, "image", async () => {
    if (await runtime.imageExists(from, signal)) return;
    try {
      await runtime.pullImage(from, (p) => onEvent({ type: "pull", ...p }), signal);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      throw new NotFoundError(`image "${from}" given by --from is not available: ${(err as Error).message}`, { cause: err });
    }
  });

  const context: FileEntry[] = [
    { path: "Dockerfile", content: await readFile(DOCKERFILE) },
    { path: CONTEXT_SCRIPT, content: await readFile(NODE_ENTRYPOINT_SOURCE), mode: 0o755 },
    { path: CONTEXT_PRELOAD, content: "" },
    ...preload.files.map((f) => ({ path: `${CONTEXT_PRELOAD}${f.name}`, content: f.content })),
  ];
  await step(onEvent, "build-node-image", () =>
    runtime.buildImage(
      { context, tag, labels: { [LABEL.managed]: "true", [LABEL.version]: VERSION }, buildArgs: { K3S_IMAGE: from } },
      undefined,
      signal,
    ),
  );
  return { tag, from, preloaded: preload.files.map((f) => f.name) };
}

async function readPreload(
  dir: string,
  problems: string[],
): Promise<{ files: Array<{ name: string; content: Buffer }>; skipped: string[] }> {
  const path = resolve(dir);
  try {
    if (!(await stat(path)).isDirectory()) {
      problems.push(`--preload "${dir}" is not a directory`);
      return { files: [], skipped: [] };
    }
  } catch {
    problems.push(`--preload directory "${dir}" does not exist`);
    return { files: [], skipped: [] };
  }
  const files: Array<{ name: string; content: Buffer }> = [];
  const skipped: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith(".")) continue;
    if (!entry.isFile() || !PRELOADABLE.test(entry.name)) {
      skipped.push(entry.name);
      continue;
    }
    files.push({ name: entry.name, content: await readFile(join(path, entry.name)) });
  }
  if (files.length === 0) problems.push(`--preload directory "${dir}" holds no image tarballs (.tar, .tar.gz, .tar.zst, ...)`);
  return { files, skipped };
}
