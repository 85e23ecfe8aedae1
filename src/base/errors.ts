/**
 * Typed errors of k3box. Each class maps to one documented exit code
 * (see `exitCodeFor` in the CLI and the README's "Exit codes" table).
 */
export class K3boxError extends Error {
  override readonly name: string = "K3boxError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad input from the user: a flag, a spec, a name, a file. */
export class UsageError extends K3boxError {
  override readonly name = "UsageError";
}

/** The container engine cannot be reached or answered unexpectedly. */
export class RuntimeUnavailableError extends K3boxError {
  override readonly name = "RuntimeUnavailableError";
}

/** Something that must not exist already exists (cluster, container, port). */
export class ConflictError extends K3boxError {
  override readonly name = "ConflictError";
}

/** Something that must exist does not (cluster, node, image). */
export class NotFoundError extends K3boxError {
  override readonly name = "NotFoundError";
}

/** The operation's deadline passed; when it passed waiting for a node, that node and its last log lines. */
export class TimeoutError extends K3boxError {
  override readonly name = "TimeoutError";
  readonly node?: string;
  readonly logTail: readonly string[];
  constructor(message: string, options?: { cause?: unknown; node?: string; logTail?: readonly string[] }) {
    super(message, options);
    if (options?.node !== undefined) this.node = options.node;
    this.logTail = options?.logTail ?? [];
  }
}

/** The operation was cancelled (Ctrl-C, SIGTERM, an aborted signal). */
export class CancelledError extends K3boxError {
  override readonly name = "CancelledError";
}

/** A node reported a fatal error or never became ready. */
export class NodeFailedError extends K3boxError {
  override readonly name = "NodeFailedError";
  constructor(
    readonly node: string,
    message: string,
    readonly logTail: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A kubeconfig file could not be read, parsed or written. */
export class KubeconfigError extends K3boxError {
  override readonly name = "KubeconfigError";
}

/** The engine or its host cannot run k3s nodes, whatever k3box adapts (`k3box doctor` says why). */
export class UnsuitableHostError extends K3boxError {
  override readonly name = "UnsuitableHostError";
}
