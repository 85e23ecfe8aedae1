/**
 * The engine's clock. Docker stamps log lines and state changes in nanoseconds; a Date has
 * milliseconds, so a container that stops and starts again within one millisecond would make
 * `since: finishedAt` ambiguous. Every state change therefore gets a moment of its own, strictly
 * after everything before it; log lines share the current moment.
 */
export class Clock {
  private last = 0;
  /** How far tests moved the clock on. */
  private skew = 0;

  /** For log lines: never earlier than the last state change. */
  now(): Date {
    this.last = Math.max(Date.now() + this.skew, this.last);
    return new Date(this.last);
  }

  /** For state changes (started, finished): strictly later than anything stamped before. */
  tick(): Date {
    this.last = Math.max(Date.now() + this.skew, this.last + 1);
    return new Date(this.last);
  }

  /** From now on the engine's time runs `ms` ahead, as if that long had passed. */
  advance(ms: number): void {
    this.skew += ms;
  }
}
