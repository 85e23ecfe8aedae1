/**
 * Changing a running load balancer in place: the new nginx config goes in, is tested, and
 * is reloaded; the reload is confirmed from nginx's own log. Any failure puts the old config back.
 */
import type { ContainerInfo, Runtime } from "../../runtime/types.js";
import { K3boxError } from "../../base/errors.js";
import { step } from "../events.js";
import { LABEL, clusterSelector, indexOf, roleOf } from "../labels.js";
import type { Operation } from "../operation.js";
import type { NodeRole } from "../cluster-spec/types.js";
import { NGINX_CONFIG_PATH, renderNginxConfig } from "./nginx.js";
import { proxiedPorts, storedPorts } from "./targets.js";

/** How long nginx gets to report that it reloaded. */
const RELOAD_CONFIRM_MS = 15_000;

/**
 * The config for the cluster's current nodes. Only running nodes are targets: nginx resolves
 * every upstream name when it loads, and Docker's DNS does not know stopped containers.
 */
export function loadBalancerConfig(lb: ContainerInfo, nodes: readonly ContainerInfo[]): string {
  return renderLoadBalancerConfig(storedPortSpecs(lb), nodes);
}

/**
 * Renders the config for the cluster's nodes as they are now, leaving out `exclude` (nodes about
 * to go), and applies it in place; its undo goes on the operation's stack.
 */
export async function updateClusterLoadBalancer(
  runtime: Runtime,
  cluster: string,
  exclude: ReadonlySet<string>,
  op: Pick<Operation, "onEvent" | "signal" | "undo">,
): Promise<void> {
  const containers = await runtime.listContainers(clusterSelector(cluster), op.signal);
  const lb = containers.find((c) => roleOf(c) === "loadbalancer");
  if (!lb) return;
  const nodes = containers.map((c) => (exclude.has(c.name) ? { ...c, running: false } : c));
  const restore = await step(
    op.onEvent,
    "update-loadbalancer",
    () => applyLoadBalancerConfig(runtime, lb.name, loadBalancerConfig(lb, nodes), op.signal),
    lb.name,
  );
  op.undo.push(`restore the config of ${lb.name}`, restore);
}

/** The raw port specs stored on the load balancer. */
export function storedPortSpecs(lb: ContainerInfo): string[] {
  return JSON.parse(lb.labels[LABEL.ports] ?? "[]") as string[];
}

export function renderLoadBalancerConfig(raws: readonly string[], nodes: readonly ContainerInfo[]): string {
  const k3s = nodes.filter((n) => roleOf(n) !== "loadbalancer");
  const counts = {
    servers: k3s.filter((n) => roleOf(n) === "server").length,
    agents: k3s.filter((n) => roleOf(n) === "agent").length,
  };
  const targets = k3s
    .filter((n) => n.running)
    .map((n) => ({ name: n.name, role: roleOf(n) as NodeRole, index: indexOf(n) }))
    .sort((a, b) => Number(a.role !== "server") - Number(b.role !== "server") || a.index - b.index);
  return renderNginxConfig(proxiedPorts(storedPorts(raws, counts), targets));
}

/**
 * Puts `config` into the load balancer. A stopped one just gets the file (nginx reads it when it
 * starts); a running one tests and reloads it, and nginx re-resolves every node name as it does.
 * Returns an undo that puts the previous config back the same way.
 */
export async function applyLoadBalancerConfig(
  runtime: Runtime,
  lb: string,
  config: string,
  signal?: AbortSignal,
): Promise<() => Promise<void>> {
  const previous = await runtime.readFile(lb, NGINX_CONFIG_PATH, signal);
  await install(runtime, lb, config, previous, signal);
  return () => install(runtime, lb, previous, undefined);
}

async function install(
  runtime: Runtime,
  lb: string,
  config: string | Buffer,
  previous: Buffer | undefined,
  signal?: AbortSignal,
): Promise<void> {
  await runtime.putFiles(lb, [{ path: NGINX_CONFIG_PATH, content: config, mode: 0o644 }], signal);
  const info = await runtime.inspectContainer(lb, signal);
  if (!info?.running) return;
  try {
    const test = await runtime.exec(lb, ["nginx", "-t"], {}, signal);
    if (test.exitCode !== 0) throw new K3boxError(`load balancer ${lb} rejected its new config: ${lastLine(test.stderr)}`);
    await reload(runtime, lb, signal);
  } catch (err) {
    if (previous !== undefined) {
      await runtime.putFiles(lb, [{ path: NGINX_CONFIG_PATH, content: previous, mode: 0o644 }]);
      await reload(runtime, lb).catch(() => {});
    }
    throw err;
  }
}

/** nginx's master logs this once per reload (the SIGHUP line before it ends the same way, hence the anchor). */
const RECONFIGURING = /#\d+: reconfiguring$/;

/** Sends the reload and waits until nginx logs that the new workers run; an [emerg] or [alert] fails it. */
export async function reload(runtime: Runtime, lb: string, signal?: AbortSignal): Promise<void> {
  const since = (await runtime.inspectContainer(lb, signal))?.finishedAt ?? new Date(0);
  let before = 0;
  for await (const line of runtime.logs(lb, { follow: false, since }, signal)) if (RECONFIGURING.test(line)) before++;
  const sent = await runtime.exec(lb, ["nginx", "-s", "reload"], {}, signal);
  if (sent.exitCode !== 0) throw new K3boxError(`reloading load balancer ${lb} failed: ${lastLine(sent.stderr)}`);
  const watch = AbortSignal.any([AbortSignal.timeout(RELOAD_CONFIRM_MS), ...(signal ? [signal] : [])]);
  let seen = 0;
  try {
    for await (const line of runtime.logs(lb, { follow: true, since }, watch)) {
      if (RECONFIGURING.test(line)) seen++;
      if (seen <= before) continue;
      if (/\[(emerg|alert)\]/.test(line)) throw new K3boxError(`load balancer ${lb} failed to reload: ${line}`);
      if (/start worker processes/.test(line)) return;
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (!watch.aborted) throw err;
  }
  throw new K3boxError(`load balancer ${lb} did not confirm its reload within ${RELOAD_CONFIRM_MS / 1000}s`);
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).at(-1) ?? "no output";
}
