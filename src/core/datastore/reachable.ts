/**
 * Whether an external datastore answers where the nodes will run: a throwaway container of the
 * node image on the cluster's network opens a TCP connection to each address of the endpoint.
 */
import { randomBytes } from "node:crypto";
import { K3boxError, UsageError } from "../../base/errors.js";
import type { Runtime } from "../../runtime/types.js";
import type { Dialect } from "../dialect.js";
import type { EventSink } from "../events.js";
import { runToEnd } from "../run-to-end.js";
import type { ExternalEndpoint, HostPort } from "./endpoint.js";

/**
 * busybox's telnet exits 0 once connected (its input is empty), 1 when the name does not resolve
 * or the connection is refused. rancher/k3s has busybox's applets on its PATH; elsewhere busybox
 * itself may be there.
 */
const CONNECT =
  'if command -v telnet >/dev/null 2>&1; then exec telnet "$1" "$2" </dev/null; fi; exec busybox telnet "$1" "$2" </dev/null';

/** A connection that is neither made nor refused by then goes nowhere (a firewall that drops it). */
const CHECK_LIMIT_MS = 15_000;
/** What the engine answers when the check cannot run in the image at all. */
const NOT_RUNNABLE = new Set([126, 127]);

type Outcome = { readonly reachable: true } | { readonly reachable: false; readonly why: string } | { readonly unknown: string };

async function connect(
  runtime: Runtime,
  d: Dialect,
  image: string,
  network: string,
  target: HostPort,
  caller: AbortSignal,
): Promise<Outcome> {
  const name = `${d.prefix}-datastore-check-${randomBytes(4).toString("hex")}`;
  const signal = AbortSignal.any([caller, AbortSignal.timeout(CHECK_LIMIT_MS)]);
  try {
    const { lines, exitCode } = await runToEnd(
      runtime,
      {
        name,
        image,
        entrypoint: ["/bin/sh", "-c", CONNECT, "datastore-check", target.host, String(target.port)],
        labels: { [d.labels.managed]: d.managedValue, [d.labels.role]: "probe" },
        network,
        restartPolicy: "no",
      },
      signal,
    );
    const why = lines.filter((l) => l.trim() !== "").at(-1) ?? `exit code ${exitCode ?? "?"}`;
    if (exitCode === 0) return { reachable: true };
    if (NOT_RUNNABLE.has(exitCode ?? 0)) return { unknown: `the node image ${image} cannot run the check (${why})` };
    return { reachable: false, why: why.replace(/^telnet: /, "") };
  } catch (err) {
    if (caller.aborted || !signal.aborted) throw err;
    return { reachable: false, why: `no answer within ${CHECK_LIMIT_MS / 1000}s` };
  } finally {
    await runtime.removeContainer(name).catch(() => {});
  }
}

/**
 * Throws a UsageError naming the endpoint (without its password) when none of its addresses takes
 * a connection from `network`. A node image that cannot run the check is warned about, not failed.
 */
export async function checkReachable(
  runtime: Runtime,
  d: Dialect,
  o: { readonly image: string; readonly network: string; readonly endpoint: ExternalEndpoint },
  onEvent: EventSink,
  signal: AbortSignal,
): Promise<void> {
  const outcomes = await Promise.all(o.endpoint.targets.map((t) => connect(runtime, d, o.image, o.network, t, signal)));
  if (outcomes.some((r) => "reachable" in r && r.reachable)) return;
  const unknown = outcomes.find((r): r is { unknown: string } => "unknown" in r);
  if (unknown) {
    onEvent({
      type: "warning",
      message: `could not check that the datastore ${o.endpoint.shown} is reachable: ${unknown.unknown}`,
    });
    return;
  }
  const reasons = o.endpoint.targets.map((t, i) => {
    const r = outcomes[i];
    return `${t.host}:${t.port}: ${r && "why" in r ? r.why : "?"}`;
  });
  if (reasons.length === 0) throw new K3boxError(`datastore ${o.endpoint.shown} names no address`);
  throw new UsageError(
    `datastore endpoint ${o.endpoint.shown} is not reachable from network "${o.network}" (${reasons.join("; ")}): start it, or give --network where it is reachable`,
  );
}
