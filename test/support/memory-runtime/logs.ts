/** A container's log: lines with the engine's timestamps, and readers that follow it. */

export interface LogLine {
  readonly time: Date;
  readonly text: string;
}

export class LogBuffer {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<() => void>();

  append(time: Date, text: string): void {
    // A process writes bytes; Docker splits them into lines.
    for (const line of text.replace(/\r?\n$/, "").split(/\r?\n/)) this.lines.push({ time, text: line });
    this.wake();
  }

  /** Wakes every follower: new lines, or the run they follow ended. */
  wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves at the next wake, or when `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/**
 * The lines a `logs` call returns, as Docker selects them: the last `tail` lines, then those
 * stamped at or after `since`.
 */
export function selectLines(lines: readonly LogLine[], options: { since?: Date; tail?: number }): LogLine[] {
  const tailed = options.tail === undefined || options.tail < 0 ? lines : lines.slice(Math.max(0, lines.length - options.tail));
  const since = options.since?.getTime();
  return since === undefined ? [...tailed] : tailed.filter((l) => l.time.getTime() >= since);
}
