/**
 * Runs an operation on the memory engine once to learn the engine calls it makes, then again
 * with a fault at any one of them: the call fails with an injected error, or the caller's
 * signal aborts (Ctrl-C), before the engine does its work or after. What each run left is
 * returned for the test to judge.
 */
import { expect } from "vitest";
import { CancelledError, K3boxError } from "../../src/base/errors.js";
import type { ClusterEvent } from "../../src/core/events.js";
import { NGINX_CONFIG_PATH } from "../../src/core/loadbalancer/nginx.js";
import type { Call, JournalEntry, MemoryRuntime, When } from "./memory-runtime/index.js";

/** What an operation under test is given. */
export interface RunOptions {
  readonly runtime: MemoryRuntime;
  readonly signal: AbortSignal;
  readonly onEvent: (e: ClusterEvent) => void;
}

export interface Scenario<S extends { readonly rt: MemoryRuntime }> {
  /** A fresh engine with whatever must exist before the operation (its calls do not count). */
  readonly setup: () => Promise<S>;
  readonly run: (s: S, o: RunOptions) => Promise<unknown>;
}

export type Fault = { readonly kind: "fail" | "abort"; readonly when: When };

export const FAULTS: readonly Fault[] = [
  { kind: "fail", when: "before" },
  { kind: "fail", when: "after" },
  { kind: "abort", when: "before" },
  { kind: "abort", when: "after" },
];

/** How a test names a fault: "a failure before the engine's work", "a Ctrl-C after it". */
export function describeFault(f: Fault): string {
  return `${f.kind === "fail" ? "a failure" : "a Ctrl-C"} ${f.when === "before" ? "before the engine's work" : "after it"}`;
}

/** Where each container is, what it runs and (for a load balancer) the config it has: what a rollback must put back. */
export interface EngineState {
  readonly containers: ReadonlyArray<{
    readonly name: string;
    readonly state: string;
    readonly ports: string[];
    readonly networks: string[];
    readonly config?: string;
  }>;
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
}

export async function engineState(rt: MemoryRuntime): Promise<EngineState> {
  const containers = (await rt.listContainers({})).sort((a, b) => a.name.localeCompare(b.name));
  const { networks, volumes } = rt.snapshot();
  return {
    containers: containers.map((c) => {
      const files = rt.files(c.name);
      return {
        name: c.name,
        state: c.state,
        ports: (c.spec.ports ?? []).map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.protocol}`),
        networks: Object.keys(c.networks),
        ...(files.exists(NGINX_CONFIG_PATH) ? { config: files.read(NGINX_CONFIG_PATH).content.toString() } : {}),
      };
    }),
    networks,
    volumes,
  };
}

/** The state with the host ports left out: they are picked afresh for every cluster, so two engines differ there. */
export function withoutHostPorts(state: EngineState): EngineState {
  return {
    ...state,
    containers: state.containers.map((c) => ({ ...c, ports: c.ports.map((p) => p.replace(/:\d+:/, ":*:")) })),
  };
}

export interface StepRun<S> {
  readonly s: S;
  /** The call the fault hit, as the run made it. */
  readonly call: Call;
  /** What the operation threw; undefined if it succeeded all the same. */
  readonly error: unknown;
  /** The error a "fail" fault injected. */
  readonly injected: K3boxError;
  readonly events: readonly ClusterEvent[];
  /** The calls the operation made, from its first on. */
  readonly calls: readonly Call[];
  /** The operation's changes to the engine, from its first on. */
  readonly journal: readonly JournalEntry[];
  /** The seq of the first call made by the rollback, if one ran (Infinity: it ran and made none). */
  readonly rollbackFrom?: number;
}

/** The operation's calls in a run without faults, and what it left. */
export async function referenceRun<S extends { readonly rt: MemoryRuntime }>(
  scenario: Scenario<S>,
): Promise<{ s: S; calls: readonly Call[]; events: readonly ClusterEvent[]; result: unknown }> {
  const s = await scenario.setup();
  const first = s.rt.calls.length;
  const events: ClusterEvent[] = [];
  const result = await scenario.run(s, { runtime: s.rt, signal: new AbortController().signal, onEvent: (e) => events.push(e) });
  return { s, calls: s.rt.calls.slice(first), events, result };
}

/** Runs the operation with `fault` at its `step`th engine call (counting from 1). */
export async function runWithFault<S extends { readonly rt: MemoryRuntime }>(
  scenario: Scenario<S>,
  step: number,
  fault: Fault,
): Promise<StepRun<S>> {
  const s = await scenario.setup();
  const { rt } = s;
  const first = rt.calls.length;
  const target = rt.calls.length + step;
  const injected = new K3boxError(`injected failure at call ${step}`);
  const ac = new AbortController();
  const stop =
    fault.kind === "fail"
      ? rt.failOn("*", { match: (c) => c.seq === target, error: injected, when: fault.when })
      : rt.onCall("*", (c) => (c.seq === target ? ac.abort() : undefined), fault.when);
  const events: ClusterEvent[] = [];
  let rollbackFrom: number | undefined;
  const onEvent = (e: ClusterEvent) => {
    events.push(e);
    if (e.type === "step-start" && e.step === "rollback") rollbackFrom = rt.calls.length + 1;
  };
  let error: unknown;
  try {
    await scenario.run(s, { runtime: rt, signal: ac.signal, onEvent });
  } catch (err) {
    error = err;
  } finally {
    stop();
  }
  const calls = rt.calls.slice(first);
  return {
    s,
    call: rt.calls[target - 1] as Call,
    error,
    injected,
    events,
    calls,
    journal: rt.journal.filter((e) => e.seq > first),
    ...(rollbackFrom !== undefined ? { rollbackFrom } : {}),
  };
}

/** "createContainer k3box-dev-server-0", with names that change from run to run made stable. */
export function callName(c: Pick<Call, "method" | "names">): string {
  const names = c.names.map((n) => n.replace(/^k3box-probe-[0-9a-f]+$/, "k3box-probe-*").replace(/-[0-9a-f]{6}$/, "-*"));
  return [c.method, ...names].join(" ");
}

/**
 * The objects the run created and had not removed when its rollback began, newest first, and the
 * objects the rollback removed, in order: a complete rollback makes the two lists equal.
 */
export function rollbackOrder(run: Pick<StepRun<unknown>, "journal" | "rollbackFrom">): {
  expected: string[];
  removed: string[];
} {
  const from = run.rollbackFrom ?? Infinity;
  const kinds: Record<string, string> = {
    createContainer: "container",
    createVolume: "volume",
    createNetwork: "network",
    removeContainer: "container",
    removeVolume: "volume",
    removeNetwork: "network",
  };
  const live: string[] = [];
  const removed: string[] = [];
  for (const e of run.journal) {
    const kind = kinds[e.method];
    if (kind === undefined || !e.applied) continue;
    const object = `${kind} ${e.names[0]}`;
    const at = live.indexOf(object);
    if (e.method.startsWith("create")) live.push(object);
    else if (e.seq < from) live.splice(at, 1);
    // Undoing goes on before each creation, so the rollback may also remove what never came to be: no harm, and not counted.
    else if (at >= 0 && !removed.includes(object)) removed.push(object);
  }
  return { expected: live.reverse(), removed };
}

/**
 * A failed run rolled back completely, newest first, with no warning but those `expected` allows
 * (a rollback step the memory engine cannot serve, say).
 */
export function expectCleanRollback(
  run: Pick<StepRun<unknown>, "journal" | "rollbackFrom" | "events">,
  at: At,
  expected: (warning: string) => boolean = () => false,
): void {
  const warnings = run.events.flatMap((e) => (e.type === "warning" && !expected(e.message) ? [e.message] : []));
  expect.soft(warnings, at).toEqual([]);
  const order = rollbackOrder(run);
  expect.soft(order.removed, at).toEqual(order.expected);
}

export type Reference<S> = Awaited<ReturnType<typeof referenceRun<S & { readonly rt: MemoryRuntime }>>>;

/** "a failure before the engine's work at call 7 (createContainer k3box-dev-server-0)" */
export type At = string;

/**
 * Runs the operation with `fault` at each call of the reference run, in turn, and checks what
 * every operation owes: the runs go the same way up to the fault; the operation fails with the
 * injected error (or a typed error caused by it) or, for a Ctrl-C, CancelledError; its rollback
 * undoes everything it did (it reports nothing it could not undo). `failed` then checks what the
 * run left; a run the operation survived (it retried the call) goes to `survived`. Returns the
 * calls whose failure the operation survived. Checks are soft: one sweep reports every bad step.
 */
export async function sweepFault<S extends { readonly rt: MemoryRuntime }>(
  scenario: Scenario<S>,
  reference: Reference<S>,
  fault: Fault,
  checks: {
    readonly failed: (run: StepRun<S>, at: At) => void | Promise<void>;
    readonly survived?: (run: StepRun<S>, at: At) => void | Promise<void>;
  },
): Promise<string[]> {
  const survived: string[] = [];
  for (let step = 1; step <= reference.calls.length; step++) {
    const run = await runWithFault(scenario, step, fault);
    const at = `${describeFault(fault)} at call ${step} (${callName(run.call)})`;
    expect.soft(callName(run.call), `${at}: the runs went the same way`).toBe(callName(reference.calls[step - 1] as Call));
    if (run.error === undefined) {
      survived.push(callName(run.call));
      await checks.survived?.(run, at);
      continue;
    }
    const error = run.error as Error;
    if (fault.kind === "abort") expect.soft(error, at).toBeInstanceOf(CancelledError);
    else expect.soft(error === run.injected || error.cause === run.injected, `${at}: ${String(error)}`).toBe(true);
    // A rollback that could not undo something says so in the message and on the events.
    expect.soft(String(error.message), at).not.toMatch(/rollback left/);
    const couldNot = run.events.filter((e) => e.type === "warning" && e.message.startsWith("rollback:"));
    expect.soft(couldNot, at).toEqual([]);
    await checks.failed(run, at);
  }
  return survived;
}
