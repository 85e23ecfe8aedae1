import type { Dialect, EventSink } from "../index.js";
import type { CliMode } from "./mode.js";

/** What commands get from the entry point: streams, the cancellation signal, progress, the command line spoken. */
export interface CliContext {
  readonly signal: AbortSignal;
  readonly mode: CliMode;
  /** The mode's dialect, for every library call. */
  readonly dialect: Dialect;
  out(text: string): void;
  err(line: string): void;
  withProgress<T>(fn: (onEvent: EventSink, signal: AbortSignal) => Promise<T>): Promise<T>;
}
