/**
 * Checking an ssh server's host key against known_hosts files, as OpenSSH does: plain and hashed
 * (`|1|salt|hash`) host patterns, `[host]:port` for other ports than 22, wildcards and negation,
 * and `@revoked` keys. `@cert-authority` lines are not used (host certificates are not checked).
 */
import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";

export type HostKeyVerdict =
  | { readonly kind: "known" }
  | { readonly kind: "unknown" }
  /** The host is known with other keys: a changed key, or someone in between. */
  | { readonly kind: "changed"; readonly file: string; readonly line: number }
  | { readonly kind: "revoked"; readonly file: string; readonly line: number };

/** How OpenSSH writes a host in known_hosts: `host`, or `[host]:port` for another port than 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

function hashedMatches(entry: string, name: string): boolean {
  const [, magic, salt, hash] = entry.split("|");
  if (magic !== "1" || salt === undefined || hash === undefined) return false;
  const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return mac === hash;
}

/** Whether a comma-separated pattern list names the host: a negated pattern that matches wins. */
export function hostPatternsMatch(patterns: string, name: string): boolean {
  let matched = false;
  for (const raw of patterns.split(",")) {
    const negated = raw.startsWith("!");
    const pattern = negated ? raw.slice(1) : raw;
    const hit = pattern.startsWith("|") ? hashedMatches(pattern, name) : wildcard(pattern).test(name);
    if (hit && negated) return false;
    if (hit) matched = true;
  }
  return matched;
}

interface Entry {
  readonly file: string;
  readonly line: number;
  readonly marker?: string;
  readonly type: string;
  readonly key: string;
}

/** The entries of the files that name the host, in order; files that do not exist are skipped. */
export async function hostEntries(files: readonly string[], host: string, port: number): Promise<Entry[]> {
  const name = knownHostsName(host, port);
  const entries: Entry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    for (const [i, raw] of text.split("\n").entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const fields = line.split(/\s+/);
      const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
      const [patterns, type, key] = fields;
      if (patterns === undefined || type === undefined || key === undefined || !hostPatternsMatch(patterns, name)) continue;
      entries.push({ file, line: i + 1, type, key, ...(marker !== undefined ? { marker } : {}) });
    }
  }
  return entries;
}

/** The key type a public key blob names (its first field). */
export function keyType(blob: Buffer): string {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  return blob.subarray(4, 4 + length).toString("latin1");
}

/**
 * The verdict for the server's public key blob, from the host's entries: known if an entry holds
 * it, changed if entries hold other keys of its type, revoked if a `@revoked` line holds it.
 */
export function verdictFor(entries: readonly Entry[], blob: Buffer): HostKeyVerdict {
  const key = blob.toString("base64");
  const type = keyType(blob);
  const revoked = entries.find((e) => e.marker === "@revoked" && e.key === key);
  if (revoked) return { kind: "revoked", file: revoked.file, line: revoked.line };
  const plain = entries.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key === key)) return { kind: "known" };
  const other = plain.find((e) => e.type === type);
  return other ? { kind: "changed", file: other.file, line: other.line } : { kind: "unknown" };
}
