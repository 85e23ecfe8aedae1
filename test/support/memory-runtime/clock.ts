/**
 * The engine's clock. Docker stamps log lines and state changes in nanoseconds; a Date has
 * milliseconds, so a container that stops and starts again within one millisecond would make
 * `since: finishedAt` ambiguous. Every state change therefore gets a moment of its own, strictly
 * after everything before it; log lines share the current moment.
 */
export class Clock {
  private last = 0;

  /** For log lines: never earlier than the last state change. */
  now(): Date {
    this.last = Math.max(Date.now(), this.last);
    return new Date(this.last);
  }

  /** For state changes (started, finished): strictly later than anything stamped before. */
  tick(): Date {
    this.last = Math.max(Date.now(), this.last + 1);
    return new Date(this.last);
  }
}
