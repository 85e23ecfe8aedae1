/**
 * Changing a running load balancer in place: the new nginx config goes in, is tested, and
 * is reloaded; the reload is confirmed from nginx's own log. Any failure puts the old config back.
 */
import type { ContainerInfo, Runtime } from "../../runtime/types.js";
import { K3boxError } from "../../base/errors.js";
import { step } from "../events.js";
import { K3BOX, type Dialect } from "../dialect.js";
import { clusterSelector, indexOf, roleOf } from "../labels.js";
import type { Operation } from "../operation.js";
import type { LoadBalancerSettings, NodeRole } from "../cluster-spec/types.js";
import { NGINX_CONFIG_PATH, renderNginxConfig, type ProxiedPort } from "./nginx.js";
import { proxiedPorts, storedPorts } from "./targets.js";

/** How long nginx gets to report that it reloaded. */
const RELOAD_CONFIRM_MS = 15_000;

/**
 * The config for the cluster's current nodes. Only running nodes are targets: nginx resolves
 * every upstream name when it loads, and Docker's DNS does not know stopped containers.
 */
export function loadBalancerConfig(d: Dialect, lb: ContainerInfo, nodes: readonly ContainerInfo[]): string {
  return renderLoadBalancerConfig(storedPortSpecs(d, lb), nodes, storedSettings(d, lb), d);
}

/**
 * Renders the config for the cluster's nodes as they are now, leaving out `exclude` (nodes about
 * to go), and applies it in place; its undo goes on the operation's stack.
 */
export async function updateClusterLoadBalancer(
  op: Pick<Operation, "runtime" | "dialect" | "onEvent" | "signal" | "undo">,
  cluster: string,
  exclude: ReadonlySet<string>,
): Promise<void> {
  const { runtime, dialect } = op;
  const containers = await runtime.listContainers(clusterSelector(dialect, cluster), op.signal);
  const lb = containers.find((c) => roleOf(dialect, c) === "loadbalancer");
  if (!lb) return;
  const nodes = containers.map((c) => (exclude.has(c.name) ? { ...c, running: false } : c));
  await step(
    op.onEvent,
    "update-loadbalancer",
    () => applyLoadBalancerConfig(op, lb.name, loadBalancerConfig(dialect, lb, nodes)),
    lb.name,
  );
}

/** The raw port specs stored on the load balancer. */
export function storedPortSpecs(d: Dialect, lb: ContainerInfo): string[] {
  return JSON.parse(lb.labels[d.labels.ports] ?? "[]") as string[];
}

/** The nginx settings the load balancer was created with (`--lb-config-override`). */
export function storedSettings(d: Dialect, lb: ContainerInfo): LoadBalancerSettings {
  return JSON.parse(lb.labels[d.labels.lbSettings] ?? "{}") as LoadBalancerSettings;
}

export function renderLoadBalancerConfig(
  raws: readonly string[],
  nodes: readonly ContainerInfo[],
  settings: LoadBalancerSettings = {},
  d: Dialect = K3BOX,
): string {
  return renderNginxConfig(loadBalancerTargets(raws, nodes, d), settings);
}

/** Every load-balanced port and the running nodes it goes to, from the stored specs and the nodes as they are. */
export function loadBalancerTargets(raws: readonly string[], nodes: readonly ContainerInfo[], d: Dialect): ProxiedPort[] {
  const k3s = nodes.filter((n) => roleOf(d, n) === "server" || roleOf(d, n) === "agent");
  const counts = {
    servers: k3s.filter((n) => roleOf(d, n) === "server").length,
    agents: k3s.filter((n) => roleOf(d, n) === "agent").length,
  };
  const targets = k3s
    .filter((n) => n.running)
    .map((n) => ({ name: n.name, role: roleOf(d, n) as NodeRole, index: indexOf(d, n) }))
    .sort((a, b) => Number(a.role !== "server") - Number(b.role !== "server") || a.index - b.index);
  return proxiedPorts(storedPorts(raws, counts), targets);
}

/**
 * Puts `config` into the load balancer. A stopped one just gets the file (nginx reads it when it
 * starts); a running one tests and reloads it, and nginx re-resolves every node name as it does.
 * The undo, which puts the previous config back the same way, goes on the operation's stack
 * before anything changes: a config written but not yet loaded is put back too.
 */
async function applyLoadBalancerConfig(
  { runtime, signal, undo }: Pick<Operation, "runtime" | "signal" | "undo">,
  lb: string,
  config: string,
): Promise<void> {
  const previous = await runtime.readFile(lb, NGINX_CONFIG_PATH, signal);
  undo.push(`restore the config of ${lb}`, () => install(runtime, lb, previous, undefined));
  await install(runtime, lb, config, previous, signal);
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
