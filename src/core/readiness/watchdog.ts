/**
 * Keeps an eye on the nodes that came up during an operation: a k3s node that restarts or exits
 * after its milestone (real k3s does, when its kubelet dies right after "k3s is up and running")
 * fails the operation at once, named as the cause, whichever node the operation was waiting for.
 */
import { NodeFailedError } from "../../base/errors.js";
import type { Runtime } from "../../runtime/types.js";
import { explainLog } from "./explain.js";

const INTERVAL_MS = 500;

export class NodeWatchdog {
  /** Restarts each watched node was allowed: those before its milestone, which its wait saw. */
  private readonly allowed = new Map<string, number>();
  private readonly watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly fail: (error: NodeFailedError) => void,
  ) {}

  /** A node was restarted by the engine this often while it came up: no failure, if it then stays up. */
  allow(node: string, restarts: number): void {
    this.allowed.set(node, (this.allowed.get(node) ?? 0) + restarts);
  }

  /** A node reached its milestone: from now on it must stay up. */
  watch(node: string, restarts: number): void {
    this.allow(node, restarts);
    this.watched.add(node);
    this.schedule();
  }

  /** Throws for the first watched node that is no longer up as it was when it became ready. */
  async check(signal?: AbortSignal): Promise<void> {
    for (const node of this.watched) {
      const info = await this.runtime.inspectContainer(node, signal);
      const allowed = this.allowed.get(node) ?? 0;
      let problem: string | undefined;
      if (!info) problem = `node ${node} disappeared after it was up`;
      else if (info.restartCount > allowed || info.state === "restarting") {
        problem = `node ${node} restarted after it was up (exit code ${info.exitCode ?? "?"}): it went down again`;
      } else if (!info.running) problem = `node ${node} exited with code ${info.exitCode ?? "?"} after it was up`;
      if (problem !== undefined) throw new NodeFailedError(node, problem, await explainLog(this.runtime, node, signal));
    }
  }

  dispose(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.check().then(
        () => this.schedule(),
        (err: unknown) => {
          // An engine that hiccups is asked again; a node that went down ends the watch.
          if (err instanceof NodeFailedError) this.fail(err);
          else this.schedule();
        },
      );
    }, INTERVAL_MS);
    this.timer.unref();
  }
}
