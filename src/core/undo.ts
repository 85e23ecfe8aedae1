/**
 * A stack of undo steps: everything an operation creates pushes its inverse; on
 * failure the stack unwinds in reverse order, and a step that fails is reported, not dropped.
 */
export class UndoStack {
  private readonly steps: Array<{ what: string; fn: () => Promise<void> }> = [];

  /** Returns a function that takes the step back off the stack (what it would undo turned out not to be ours). */
  push(what: string, fn: () => Promise<void>): () => void {
    const step = { what, fn };
    this.steps.push(step);
    return () => {
      const i = this.steps.indexOf(step);
      if (i >= 0) this.steps.splice(i, 1);
    };
  }

  /** Nothing was created yet, so there is nothing to roll back. */
  get empty(): boolean {
    return this.steps.length === 0;
  }

  /** Success: forget every undo step. */
  clear(): void {
    this.steps.length = 0;
  }

  /** Runs every step, newest first; returns the failures. */
  async unwind(): Promise<Array<{ what: string; error: unknown }>> {
    const failures: Array<{ what: string; error: unknown }> = [];
    while (this.steps.length > 0) {
      const s = this.steps.pop() as { what: string; fn: () => Promise<void> };
      try {
        await s.fn();
      } catch (error) {
        failures.push({ what: s.what, error });
      }
    }
    return failures;
  }
}

/**
 * Waits for every branch of parallel work, so the undo stack is complete before anything
 * unwinds, then fails with the first failure.
 */
export async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
