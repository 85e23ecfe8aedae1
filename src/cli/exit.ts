import {
  CancelledError,
  ConflictError,
  KubeconfigError,
  NodeFailedError,
  NotFoundError,
  RuntimeUnavailableError,
  TimeoutError,
  UsageError,
  ImportFailedError,
  UnsuitableHostError,
} from "../index.js";

/** The documented exit codes (README, "Exit codes"). */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  runtimeUnavailable: 3,
  timeout: 4,
  conflict: 5,
  notFound: 6,
  nodeFailed: 7,
  kubeconfig: 8,
  unsuitableHost: 9,
  cancelled: 130,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  // Nodes that lost a damaged input did not fail: the input was bad.
  if (err instanceof ImportFailedError && err.input instanceof UsageError) return EXIT.usage;
  if (err instanceof RuntimeUnavailableError) return EXIT.runtimeUnavailable;
  if (err instanceof TimeoutError) return EXIT.timeout;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof NodeFailedError || err instanceof ImportFailedError) return EXIT.nodeFailed;
  if (err instanceof KubeconfigError) return EXIT.kubeconfig;
  if (err instanceof UnsuitableHostError) return EXIT.unsuitableHost;
  if (err instanceof CancelledError) return EXIT.cancelled;
  return EXIT.error;
}
