/** What an image import did on each node, and the error that carries it when some node failed. */
import { K3boxError } from "../../base/errors.js";
import type { ImportStatus } from "../events.js";

export interface NodeImportResult {
  readonly cluster: string;
  readonly node: string;
  readonly status: ImportStatus;
  /** Refs as the node's containerd names them. */
  readonly images: readonly string[];
  readonly bytes: number;
  readonly durationMs: number;
  readonly error?: string;
}

export interface ImportResult {
  readonly clusters: readonly string[];
  readonly nodes: readonly NodeImportResult[];
}

/**
 * Some nodes did not get the images; `failures` names each with its error, `result` has every
 * node's outcome. `input`: when no node failed on its own account, the failure of the input
 * itself (a damaged archive, a save the engine broke off), which every failed node lost; of
 * several failed inputs, the first.
 */
export class ImportFailedError extends K3boxError {
  override readonly name = "ImportFailedError";
  constructor(
    message: string,
    readonly failures: readonly { readonly node: string; readonly error: string }[],
    readonly result?: ImportResult,
    readonly input?: Error,
  ) {
    super(message, input ? { cause: input } : undefined);
  }
}
