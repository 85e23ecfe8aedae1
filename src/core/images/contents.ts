/**
 * What a plain image archive file holds, read from its tar headers and its two small index
 * files only: the image names and their identity, so nodes that have them can be skipped
 * without sending (or even reading) the rest.
 */
import { open, type FileHandle } from "node:fs/promises";
import { parseImageReference } from "./reference.js";

export interface ArchivedImage {
  /** As containerd names it once imported. */
  readonly ref: string;
  /** The config digest (docker archive) or the target digest (OCI layout), as engine image IDs are. */
  readonly id: string;
}

const BLOCK = 512;
/** index.json and manifest.json are small; anything bigger is not what we are looking for. */
export const MAX_INDEX_BYTES = 1 << 20;
/** The two index files of an archive, by the name they have at its top level. */
const INDEX_FILES: ReadonlySet<string> = new Set(["index.json", "manifest.json"]);

/** The index file an archive member is (`./manifest.json` is `manifest.json`), if it is one. */
export function indexFileName(member: string): string | undefined {
  const name = member.replace(/^\.\//, "");
  return INDEX_FILES.has(name) ? name : undefined;
}

function text(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.toString("utf8", 0, nul < 0 ? length : nul);
}

function octal(header: Buffer, start: number, length: number): number {
  if ((header[start] ?? 0) & 0x80) {
    let n = 0;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + (header[i] ?? 0);
    return n;
  }
  return parseInt(text(header, start, length).trim() || "0", 8);
}

async function readAt(file: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await file.read(buf, 0, length, offset);
  return buf.subarray(0, bytesRead);
}

/** The offsets of the top-level index files, walking headers only (ustar, pax and GNU long names). */
async function findIndexFiles(file: FileHandle, size: number): Promise<Map<string, { offset: number; size: number }>> {
  const found = new Map<string, { offset: number; size: number }>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= size) {
    const h = await readAt(file, offset, BLOCK);
    if (h.length < BLOCK || h.every((b) => b === 0)) break;
    const entrySize = octal(h, 124, 12);
    const type = String.fromCharCode(h[156] ?? 0);
    const body = offset + BLOCK;
    const prefix = h.toString("latin1", 257, 262) === "ustar" ? text(h, 345, 155) : "";
    const name = longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    longName = undefined;
    if (type === "x" || type === "L") {
      const meta = (await readAt(file, body, Math.min(entrySize, MAX_INDEX_BYTES))).toString("utf8");
      longName = type === "L" ? meta.replace(/\0.*$/s, "") : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(meta)?.[1];
    } else if ((type === "0" || type === "\0") && entrySize <= MAX_INDEX_BYTES) {
      const index = indexFileName(name);
      if (index !== undefined) found.set(index, { offset: body, size: entrySize });
    }
    offset = body + Math.ceil(entrySize / BLOCK) * BLOCK;
  }
  return found;
}

interface OciIndex {
  manifests?: Array<{ digest?: string; annotations?: Record<string, string> }>;
}
type DockerManifest = Array<{ Config?: string; RepoTags?: string[] | null }>;

/**
 * The named images an archive's index files name: an OCI index when there is one (what
 * containerd's importer goes by), else Docker's manifest. Undefined when they do not tell.
 */
export function imagesOfIndex(index: unknown, manifest: unknown): ArchivedImage[] | undefined {
  if (index !== undefined) {
    const manifests = (index as OciIndex).manifests ?? [];
    if (!Array.isArray(manifests)) return undefined;
    const images = manifests.flatMap((m) => {
      const name = m.annotations?.["io.containerd.image.name"];
      return name && m.digest ? [{ ref: parseImageReference(name).canonical, id: m.digest }] : [];
    });
    return images.length > 0 && images.length === manifests.length ? images : undefined;
  }
  if (!Array.isArray(manifest)) return undefined;
  const images = (manifest as DockerManifest).flatMap((m) => {
    const hex = /([0-9a-f]{64})(?:\.json)?$/.exec(m.Config ?? "")?.[1];
    return hex ? (m.RepoTags ?? []).map((t) => ({ ref: parseImageReference(t).canonical, id: `sha256:${hex}` })) : [];
  });
  return images.length > 0 ? images : undefined;
}

/**
 * The named images of a plain (uncompressed) archive file, or undefined when that cannot be
 * told from its index files (then the archive is simply sent whole).
 */
export async function archivedImages(path: string): Promise<ArchivedImage[] | undefined> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const files = await findIndexFiles(file, size);
    const read = async (name: string): Promise<unknown> => {
      const at = files.get(name);
      return at ? JSON.parse((await readAt(file, at.offset, at.size)).toString("utf8")) : undefined;
    };
    const index = await read("index.json");
    return imagesOfIndex(index, index === undefined ? await read("manifest.json") : undefined);
  } catch {
    return undefined; // unreadable index files: the import itself will say what is wrong
  } finally {
    await file.close();
  }
}
