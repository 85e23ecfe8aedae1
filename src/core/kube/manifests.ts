/**
 * Kubernetes manifests as callers hand them over: YAML or JSON text (several documents), objects,
 * a file, or a directory of files; read into the objects they hold, each checked to be one.
 */
import { fileURLToPath } from "node:url";
import { LineCounter, parseAllDocuments } from "yaml";
import { UsageError } from "../../base/errors.js";
import { manifestFiles, readSource } from "../cluster-spec/files.js";
import { toData } from "../yaml-guard.js";

export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly uid?: string;
  readonly generation?: number;
  readonly deletionTimestamp?: string;
  readonly [key: string]: unknown;
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [key: string]: unknown;
}

/**
 * What `apply` takes: manifest text (a string with a line break, or starting with `{`), a path
 * to a file or directory (any other string, or a file URL), an object, or a list of these.
 */
export type ManifestSource = string | URL | KubeObject | readonly ManifestSource[];

export async function readManifests(source: ManifestSource): Promise<KubeObject[]> {
  if (Array.isArray(source)) {
    const parts = await Promise.all((source as readonly ManifestSource[]).map((s) => readManifests(s)));
    return parts.flat();
  }
  if (source instanceof URL) return readManifestPath(fileURLToPath(source));
  if (typeof source === "string") {
    return isManifestText(source) ? parseManifests(source, "manifest text") : readManifestPath(source);
  }
  return checkObjects([source], "manifest object");
}

function isManifestText(s: string): boolean {
  return s.includes("\n") || s.trimStart().startsWith("{");
}

async function readManifestPath(path: string): Promise<KubeObject[]> {
  const files = await manifestFiles(path, `manifest "${path}"`);
  const parts = await Promise.all(
    files.map(async (f) => parseManifests((await readSource(f, `manifest "${path}"`)).toString("utf8"), f)),
  );
  return parts.flat();
}

/** The objects of every document in the text; `where` names it in errors (a file, "manifest text"). */
export function parseManifests(text: string, where: string): KubeObject[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  if (!Array.isArray(docs)) return [];
  const objects: unknown[] = [];
  for (const [i, doc] of docs.entries()) {
    const at = `${where}, document ${i + 1}`;
    const error = doc.errors[0];
    if (error) {
      const pos = lines.linePos(error.pos[0]);
      throw new UsageError(`${where}:${pos.line}:${pos.col}: ${error.message.split("\n")[0]}`);
    }
    const data = toData(doc, at);
    // Empty documents (a trailing `---`, comments only) hold nothing.
    if (data !== null && data !== undefined) objects.push(data);
  }
  return checkObjects(objects, where);
}

/** Each value must be a Kubernetes object (a `List`'s items count one by one). */
function checkObjects(values: readonly unknown[], where: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [i, value] of values.entries()) {
    const at = values.length > 1 ? `${where}, object ${i + 1}` : where;
    const problem = notAnObject(value);
    if (problem !== undefined) throw new UsageError(`${at}: not a Kubernetes object: ${problem}`);
    const obj = value as KubeObject;
    if (obj.kind.endsWith("List") && Array.isArray(obj.items)) objects.push(...checkObjects(obj.items, at));
    else objects.push(obj);
  }
  return objects;
}

function notAnObject(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return `expected a mapping, got ${JSON.stringify(value)}`;
  const o = value as Record<string, unknown>;
  if (typeof o.apiVersion !== "string" || o.apiVersion === "") return "apiVersion is missing";
  if (typeof o.kind !== "string" || o.kind === "") return "kind is missing";
  if (o.kind.endsWith("List") && Array.isArray(o.items)) return undefined;
  const meta = o.metadata as Record<string, unknown> | undefined;
  if (typeof meta?.name !== "string" || meta.name === "") {
    return `${o.kind} has no metadata.name (server-side apply names every object${meta?.generateName !== undefined ? "; generateName is not enough" : ""})`;
  }
  return undefined;
}
