/** k3box builds its load balancer image itself, from images/loadbalancer, tagged by the content's hash. */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { FileEntry, Runtime } from "../../runtime/types.js";
import { LABEL } from "../labels.js";

const CONTEXT_DIR = fileURLToPath(new URL("../../../images/loadbalancer/", import.meta.url));
export const LOADBALANCER_REPOSITORY = "k3box/loadbalancer";

let context: Promise<{ files: FileEntry[]; tag: string }> | undefined;

/** The build context and its content tag; the files ship with k3box, so they are read and hashed once. */
export function loadBalancerContext(): Promise<{ files: FileEntry[]; tag: string }> {
  context ??= readContext().catch((err: unknown) => {
    context = undefined;
    throw err;
  });
  return context;
}

async function readContext(): Promise<{ files: FileEntry[]; tag: string }> {
  const names = (await readdir(CONTEXT_DIR)).sort();
  const files: FileEntry[] = [];
  const hash = createHash("sha256");
  for (const name of names) {
    const content = await readFile(join(CONTEXT_DIR, name));
    hash.update(name).update("\0").update(content).update("\0");
    files.push({ path: name, content });
  }
  return { files, tag: `${LOADBALANCER_REPOSITORY}:${hash.digest("hex").slice(0, 12)}` };
}

/** Builds the image unless an image with that content hash exists already. */
export async function ensureLoadBalancerImage(
  runtime: Runtime,
  context: { files: readonly FileEntry[]; tag: string },
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<boolean> {
  if (await runtime.imageExists(context.tag, signal)) return false;
  await runtime.buildImage({ context: context.files, tag: context.tag, labels: { [LABEL.managed]: "true" } }, onLine, signal);
  return true;
}
