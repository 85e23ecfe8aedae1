import type { EventSink } from "../index.js";

/** What commands get from the entry point: streams, the cancellation signal, progress. */
export interface CliContext {
  readonly signal: AbortSignal;
  out(text: string): void;
  err(line: string): void;
  withProgress<T>(fn: (onEvent: EventSink, signal: AbortSignal) => Promise<T>): Promise<T>;
}
