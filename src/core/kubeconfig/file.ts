/** Kubeconfig files: where they are, and reading and changing them safely. */
import { constants } from "node:fs";
import { access, mkdir, readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { KubeconfigError } from "../../base/errors.js";
import { resolveWriteTarget, writeFileAtomic } from "./atomic.js";
import { cancelledError, lockKubeconfig, type HeldLock } from "./lock.js";
import { emptyKubeconfig, type KubeConfig } from "./model.js";
import { parseKubeconfig, serializeKubeconfig } from "./yaml.js";

export interface KubeconfigFileOptions {
  signal?: AbortSignal;
  /** How long to wait for the lock; 10 000 ms by default. */
  lockTimeoutMs?: number;
}

/** Reads and parses a kubeconfig; a missing or empty file is an empty config, as for kubectl. */
export async function readKubeconfigFile(path: string): Promise<KubeConfig> {
  const text = await readIfExists(path);
  return text === undefined ? emptyKubeconfig() : parseKubeconfig(text, path);
}

/** Replaces a kubeconfig with `config`, under the lock, atomically, mode 0600. */
export async function writeKubeconfigFile(path: string, config: KubeConfig, o: KubeconfigFileOptions = {}): Promise<void> {
  const text = serializeKubeconfig(config);
  await underLock(path, o, async (lock) => {
    await commit(path, await writeTarget(path), text, lock, o.signal);
  });
}

/**
 * Read-modify-write of a kubeconfig: takes the lock kubectl also honours,
 * re-reads the file under it, applies `fn`, and replaces the file atomically
 * with mode 0600, keeping its owner; if `path` is a symlink, the file it
 * points to is replaced and the link stays. A missing file (and its
 * directories) is created. A file that cannot be parsed is left byte-for-byte
 * as it is and a KubeconfigError names it and the problem.
 *
 * If `fn` returns the very object it was given and the file exists, nothing is
 * written, so a no-op (such as removing an absent cluster) does not reformat
 * the user's file.
 */
export async function updateKubeconfigFile(
  path: string,
  fn: (current: KubeConfig) => KubeConfig,
  o: KubeconfigFileOptions = {},
): Promise<void> {
  await underLock(path, o, async (lock) => {
    const target = await writeTarget(path);
    const text = await readIfExists(target, path);
    const current = text === undefined ? emptyKubeconfig() : parseKubeconfig(text, path);
    const next = fn(current);
    if (next === current && text !== undefined) return;
    await commit(path, target, serializeKubeconfig(next), lock, o.signal);
  });
}

/**
 * Checks, changing nothing, that `updateKubeconfigFile(path)` can succeed: the file (through
 * symlinks) does not exist yet or is a kubeconfig k3box can read and parse, and the directories
 * of the file and of its lock (or the nearest ones that exist) let k3box create files in them.
 */
export async function checkKubeconfigUpdatable(path: string): Promise<void> {
  const target = await writeTarget(path);
  const text = await readIfExists(target, path);
  if (text !== undefined) parseKubeconfig(text, path);
  for (const dir of new Set([dirname(resolve(path)), dirname(target)])) await checkCanCreateIn(dir, path);
}

async function checkCanCreateIn(dir: string, path: string): Promise<void> {
  let existing = dir;
  for (;;) {
    const st = await stat(existing).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" && dirname(existing) !== existing) return undefined;
      throw new KubeconfigError(`cannot write ${path}: ${existing}: ${err.message}`, { cause: err });
    });
    if (st === undefined) {
      existing = dirname(existing);
      continue;
    }
    if (!st.isDirectory()) throw new KubeconfigError(`cannot write ${path}: ${existing} is not a directory`);
    break;
  }
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "EROFS" ? "a read-only file system" : "not writable";
    throw new KubeconfigError(`cannot write ${path}: directory ${existing} is ${why}`, { cause: err });
  }
}

async function underLock(path: string, o: KubeconfigFileOptions, body: (lock: HeldLock) => Promise<void>): Promise<void> {
  if (o.signal?.aborted) throw cancelledError(o.signal, `updating ${path}`);
  // The lock lives next to the file, so its directory must exist first.
  await mkdir(dirname(resolve(path)), { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw new KubeconfigError(`cannot create the directory of ${path}: ${(err as Error).message}`, { cause: err });
  });
  const lock = await lockKubeconfig(path, { signal: o.signal, timeoutMs: o.lockTimeoutMs });
  try {
    await body(lock);
  } finally {
    // A compromised lock is already gone; releasing it again only errors.
    if (lock.compromised() === undefined) await lock.release().catch(() => undefined);
  }
}

async function commit(
  path: string,
  target: string,
  text: string,
  lock: HeldLock,
  signal: AbortSignal | undefined,
): Promise<void> {
  // Last chance to back out: after the rename the change is made.
  if (signal?.aborted) throw cancelledError(signal, `updating ${path}`);
  const lost = lock.compromised();
  if (lost !== undefined) {
    throw new KubeconfigError(`lost the lock ${path}.lock while updating ${path}: ${lost.message}`, { cause: lost });
  }
  try {
    await writeFileAtomic(target, text);
  } catch (err) {
    const where = target === resolve(path) ? path : `${path} (-> ${target})`;
    throw new KubeconfigError(`cannot write ${where}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeTarget(path: string): Promise<string> {
  try {
    return await resolveWriteTarget(path);
  } catch (err) {
    throw new KubeconfigError(`cannot resolve ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function readIfExists(file: string, shownAs: string = file): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "EISDIR") throw new KubeconfigError(`cannot use ${shownAs}: it is a directory`, { cause: err });
    throw new KubeconfigError(`cannot read ${shownAs}: ${(err as Error).message}`, { cause: err });
  }
}
