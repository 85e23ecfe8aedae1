/**
 * Every call goes through one gate that behaves like the Docker runtime's `guard` and
 * `guardChange`, and gives tests their handles on it: hooks at each call, failures on demand,
 * and a journal of what was changed.
 */
import { abortError } from "../../../src/base/abort.js";
import { mapEngineError } from "../../../src/runtime/docker/errors.js";
import type { Runtime } from "../../../src/runtime/types.js";
import { engineError } from "./failure.js";

export type RuntimeMethod = keyof Runtime;

/** Calls that change what the engine holds (or, for exec and putFiles, may change it). */
const MUTATING: ReadonlySet<RuntimeMethod> = new Set<RuntimeMethod>([
  "pullImage",
  "buildImage",
  "createNetwork",
  "removeNetwork",
  "connectNetwork",
  "disconnectNetwork",
  "createVolume",
  "removeVolume",
  "createContainer",
  "startContainer",
  "stopContainer",
  "removeContainer",
  "renameContainer",
  "exec",
  "putFiles",
]);

export interface Call {
  /** 1-based, over every call that got past an already-aborted signal. */
  readonly seq: number;
  readonly method: RuntimeMethod;
  /** The objects the call names, in argument order: container, network, volume, image. */
  readonly names: readonly string[];
  readonly args: readonly unknown[];
  /** How the Docker runtime names the call in its errors ("create container x"). */
  readonly what: string;
  readonly signal: AbortSignal | undefined;
}

/** before: ahead of the engine's work; after: the work is done, the call not yet answered. */
export type When = "before" | "after";

/** A name the call mentions, a pattern on those names, or any test on the call. */
export type CallMatch = string | RegExp | ((call: Call) => boolean);

export interface FailureRule {
  readonly match?: CallMatch;
  /** The first matching call that fails, counting from 1. Default 1. */
  readonly nth?: number;
  /** How many matching calls fail, from the nth on. Default 1; Infinity: every one. */
  readonly times?: number;
  /**
   * What the call rejects with. A K3boxError is passed on as it is; anything else is mapped as
   * the Docker runtime maps what the engine says (see `engineError` for a status code).
   * Default: a 500 from the engine, a K3boxError naming the call.
   */
  readonly error?: unknown;
  /** before (default): the engine refuses and nothing changes. after: the change is made, and the call still fails. */
  readonly when?: When;
}

export interface JournalEntry {
  readonly seq: number;
  readonly method: RuntimeMethod;
  readonly names: readonly string[];
  readonly args: readonly unknown[];
  /** The engine made the change, whatever the caller was answered. */
  applied: boolean;
  /** What the caller got instead of a result. */
  error?: Error;
}

export interface Request<T> {
  readonly method: RuntimeMethod;
  readonly names: readonly string[];
  readonly args: readonly unknown[];
  readonly what: string;
  readonly signal: AbortSignal | undefined;
  /**
   * guard: the caller is answered with the abort error as soon as the signal aborts (the work may
   * still happen). change: once begun, the call completes whatever the signal does, as creations
   * do in the Docker runtime so that the caller can record its undo.
   */
  readonly mode: "guard" | "change";
  readonly effect: () => T | Promise<T>;
}

type Hook = (call: Call) => void | Promise<void>;

function matches(match: CallMatch | undefined, call: Call): boolean {
  if (match === undefined) return true;
  if (typeof match === "string") return call.names.includes(match);
  if (match instanceof RegExp) return call.names.some((n) => match.test(n));
  return match(call);
}

/** Rejects with the abort error as soon as the signal aborts, as the Docker runtime's guard does. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return work;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal, what));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

export class CallGate {
  private seq = 0;
  private readonly hooks: Array<{ method: RuntimeMethod | "*"; when: When; fn: Hook }> = [];
  private readonly rules: Array<{ method: RuntimeMethod | "*"; rule: FailureRule; seen: number }> = [];
  readonly calls: Call[] = [];
  readonly journal: JournalEntry[] = [];

  onCall(method: RuntimeMethod | "*", fn: Hook, when: When = "before"): () => void {
    const hook = { method, when, fn };
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  failOn(method: RuntimeMethod | "*", rule: FailureRule = {}): () => void {
    const entry = { method, rule, seen: 0 };
    this.rules.push(entry);
    return () => {
      const i = this.rules.indexOf(entry);
      if (i >= 0) this.rules.splice(i, 1);
    };
  }

  run<T>(req: Request<T>): Promise<T> {
    // Both of the Docker runtime's guards refuse to begin once the signal has aborted.
    if (req.signal?.aborted) return Promise.reject(abortError(req.signal, req.what));
    const call: Call = {
      seq: ++this.seq,
      method: req.method,
      names: req.names,
      args: req.args,
      what: req.what,
      signal: req.signal,
    };
    this.calls.push(call);
    const entry: JournalEntry | undefined = MUTATING.has(req.method)
      ? { seq: call.seq, method: call.method, names: call.names, args: call.args, applied: false }
      : undefined;
    if (entry) this.journal.push(entry);
    const work = this.carryOut(call, req, entry);
    const answered = req.mode === "change" ? work : raceAbort(work, req.signal, req.what);
    return answered.catch((err: Error) => {
      if (entry) entry.error = err;
      throw err;
    });
  }

  private async carryOut<T>(call: Call, req: Request<T>, entry: JournalEntry | undefined): Promise<T> {
    const failure = this.failureFor(call);
    try {
      await this.runHooks(call, "before");
      if (failure?.when === "before") throw failure.error;
      if (req.mode === "guard" && req.signal?.aborted) throw abortError(req.signal, req.what);
      const result = await req.effect();
      if (entry) entry.applied = true;
      await this.runHooks(call, "after");
      if (failure?.when === "after") throw failure.error;
      return result;
    } catch (err) {
      throw mapEngineError(err, req.what, req.mode === "guard" ? req.signal : undefined);
    }
  }

  private async runHooks(call: Call, when: When): Promise<void> {
    for (const h of [...this.hooks]) {
      if (h.when === when && (h.method === "*" || h.method === call.method)) await h.fn(call);
    }
  }

  /** Counts the call against every rule it matches; the first rule whose turn it is decides. */
  private failureFor(call: Call): { when: When; error: unknown } | undefined {
    let failure: { when: When; error: unknown } | undefined;
    for (const r of this.rules) {
      if ((r.method !== "*" && r.method !== call.method) || !matches(r.rule.match, call)) continue;
      r.seen++;
      const nth = r.rule.nth ?? 1;
      const inTurn = r.seen >= nth && r.seen < nth + (r.rule.times ?? 1);
      if (inTurn && failure === undefined) {
        failure = { when: r.rule.when ?? "before", error: r.rule.error ?? engineError(500, "injected failure") };
      }
    }
    return failure;
  }
}
