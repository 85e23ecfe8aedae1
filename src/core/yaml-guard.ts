/**
 * The bounds on YAML that users hand k3box (config files, registries.yaml): size, nesting and
 * alias expansion, so a hostile or mistaken file gets an error naming it instead of exhausting
 * memory or the stack.
 */
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { isMap, isPair, isSeq, type Document } from "yaml";
import { UsageError } from "../base/errors.js";
import { LIMITS } from "./limits.js";

const TOO_BIG = `larger than ${LIMITS.yamlBytes / 1024 / 1024} MiB`;

/** Reads a file as text, refusing one larger than LIMITS.yamlBytes (also a device or pipe that never ends). */
export async function readYamlFile(path: string): Promise<string> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(LIMITS.yamlBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > LIMITS.yamlBytes) throw new UsageError(`${path} is ${TOO_BIG}`);
    }
    return buf.subarray(0, length).toString("utf8");
  } finally {
    await fh.close();
  }
}

/** Reads a stream to its end as text, with the same bound. */
export async function readYamlStream(stream: Readable, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const buf = Buffer.from(chunk as Buffer);
    length += buf.length;
    if (length > LIMITS.yamlBytes) {
      stream.destroy();
      throw new UsageError(`${name} is ${TOO_BIG}`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The offset of the first node nested deeper than LIMITS.yamlDepth, if any. Walked with an
 * explicit stack: the point is input deep enough to overflow a recursive walk.
 */
export function excessiveNesting(doc: Document): number | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { node, depth } = top;
    if (isPair(node)) {
      stack.push({ node: node.key, depth }, { node: node.value, depth });
    } else if (isMap(node) || isSeq(node)) {
      if (depth >= LIMITS.yamlDepth) return node.range?.[0] ?? 0;
      for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
    }
  }
  return undefined;
}

export const NESTING_PROBLEM = `nested deeper than ${LIMITS.yamlDepth} levels`;

/** The document as plain data, with alias expansion bounded; a YAML "billion laughs" is a UsageError. */
export function toData(doc: Document, where: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: LIMITS.yamlAliases });
  } catch (err) {
    // The yaml library throws a ReferenceError for excessive or unresolvable aliases.
    if (!(err instanceof ReferenceError)) throw err;
    const why = /excessive alias/i.test(err.message)
      ? `its aliases expand to too much data (at most ${LIMITS.yamlAliases} alias expansions)`
      : err.message;
    throw new UsageError(`${where}: ${why}`, { cause: err });
  }
}
