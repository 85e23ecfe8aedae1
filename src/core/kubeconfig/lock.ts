/**
 * The kubeconfig lock, shared with kubectl. client-go (`clientcmd.ModifyConfig`)
 * creates `<file>.lock` with O_CREATE|O_EXCL, fails at once if it exists, and
 * removes it when done. proper-lockfile with `lockfilePath: <file>.lock` takes
 * the same path with mkdir, so each side gets EEXIST while the other holds it:
 * kubectl then exits with "open <file>.lock: file exists", and we retry.
 */
import { stat } from "node:fs/promises";
import { CancelledError, K3boxError, KubeconfigError } from "../../base/errors.js";

/** How long an update waits for the lock before giving up. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

// A k3box lock directory whose mtime is older than this belongs to a process
// that died: proper-lockfile refreshes the mtime of live locks every stale/2.
// client-go's lock files carry no such heartbeat, so they are never taken over
// (removing them fails with ENOTDIR); kubectl itself never does either.
const STALE_MS = 10_000;

export interface HeldLock {
  /** The error if another process took the lock over while we held it. */
  compromised(): Error | undefined;
  release(): Promise<void>;
}

export function cancelledError(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason;
  // A deadline or an outer operation may abort with its own typed error.
  if (reason instanceof K3boxError) return reason;
  return new CancelledError(`${what} cancelled`, { cause: reason });
}

export async function lockKubeconfig(
  file: string,
  o: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
): Promise<HeldLock> {
  const lockPath = `${file}.lock`;
  const timeoutMs = o.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (o.signal?.aborted) throw cancelledError(o.signal, `locking ${file}`);
  let compromised: Error | undefined;
  // Loaded by the commands that write a kubeconfig, not by every command.
  const { default: lockfile } = await import("proper-lockfile");
  const pending = lockfile.lock(file, {
    lockfilePath: lockPath,
    // The lock must sit next to the path as given, where kubectl puts it, even
    // when that path is a symlink or does not exist yet.
    realpath: false,
    stale: STALE_MS,
    // maxRetryTime bounds the wait; the count only has to outlast it (every
    // delay is at least minTimeout), and the retry package precomputes it.
    retries: {
      retries: Math.ceil(timeoutMs / 10) + 1,
      factor: 1.3,
      minTimeout: 10,
      maxTimeout: 200,
      randomize: true,
      maxRetryTime: timeoutMs,
    },
    // The default handler throws from a timer, which would crash the process.
    onCompromised: (err) => {
      compromised = err;
    },
  });
  let release: () => Promise<void>;
  try {
    release = await abortable(pending, o.signal, `locking ${file}`);
  } catch (err) {
    throw await lockFailure(err, file, lockPath, timeoutMs);
  }
  return { compromised: () => compromised, release };
}

function abortable(
  pending: Promise<() => Promise<void>>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<() => Promise<void>> {
  if (signal === undefined) return pending;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      reject(cancelledError(signal, what));
      // proper-lockfile cannot be stopped; if it gets the lock later, give it back.
      pending.then((release) => release()).catch(() => undefined);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (release) => {
        signal.removeEventListener("abort", onAbort);
        resolve(release);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

async function lockFailure(err: unknown, file: string, lockPath: string, timeoutMs: number): Promise<Error> {
  if (err instanceof K3boxError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const holder = await stat(lockPath).then(
    (s) => (s.isDirectory() ? "another k3box process" : "kubectl or another client-go program"),
    () => undefined,
  );
  if (holder !== undefined && (code === "ELOCKED" || code === "ENOTDIR")) {
    return new KubeconfigError(
      `cannot update ${file}: its lock ${lockPath} was held by ${holder} for more than ` +
        `${Math.round(timeoutMs / 1000)} s; if no such program is running, remove ${lockPath}`,
      { cause: err },
    );
  }
  return new KubeconfigError(`cannot lock ${file} with ${lockPath}: ${(err as Error).message}`, { cause: err });
}
