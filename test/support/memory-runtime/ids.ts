/** Engine object identity: IDs, names, and lookup by name, ID or ID prefix as Docker does. */
import { randomBytes } from "node:crypto";

/** A 64-hex-digit ID, as Docker gives containers, networks and anonymous volumes. */
export function newId(): string {
  return randomBytes(32).toString("hex");
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** Docker's rule for container names. */
export const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Finds an object by exact name, full ID, or a unique ID prefix. */
export function lookup<T extends { readonly id: string; name: string }>(objects: Iterable<T>, key: string): T | undefined {
  const all = [...objects];
  const exact = all.find((o) => o.name === key || o.id === key);
  if (exact || key === "") return exact;
  const byPrefix = all.filter((o) => o.id.startsWith(key));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}
