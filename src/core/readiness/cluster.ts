/**
 * When a cluster counts as ready, level by level. Every level waits through the cluster's published
 * address (the load balancer, if any), with the admin certificate:
 * - `api`: /readyz answers ok several times in a row, and every k3box node is registered and Ready;
 * - `workloads` (the default): also the default ServiceAccount exists, so a pod can be created at once;
 * - `addons`: also every bundled add-on that is not disabled is Available (CoreDNS, so DNS answers;
 *   local-path-provisioner, metrics-server, Traefik).
 */
import { step, type EventSink } from "../events.js";
import type { ClusterRef } from "../cluster-ref.js";
import { type ClientCredentials, apiGet, apiGetJson, pollUntil, waitForApi } from "./api.js";
import type { ReadyLevel } from "./levels.js";

/** A k3s add-on as `--disable` names it, and the Deployment in kube-system that serves it. */
export const ADDONS: ReadonlyArray<{ readonly name: string; readonly deployment: string }> = [
  { name: "coredns", deployment: "coredns" },
  { name: "local-storage", deployment: "local-path-provisioner" },
  { name: "metrics-server", deployment: "metrics-server" },
  { name: "traefik", deployment: "traefik" },
];

/** The add-ons a server started with these k3s arguments runs: all but those it disables. */
export function enabledAddons(serverArgs: readonly string[]): string[] {
  const disabled = new Set<string>();
  serverArgs.forEach((arg, i) => {
    const value = arg === "--disable" ? serverArgs[i + 1] : /^--disable=(.*)$/.exec(arg)?.[1];
    for (const d of value?.split(",") ?? []) disabled.add(d.trim());
  });
  return ADDONS.filter((a) => !disabled.has(a.name)).map((a) => a.deployment);
}

export interface ClusterReadiness {
  readonly level: ReadyLevel;
  /** The k3s nodes that must be registered and Ready (container names are node names). */
  readonly nodes: readonly string[];
  /** The add-on Deployments in kube-system that must be Available (for `addons`). */
  readonly addons: readonly string[];
}

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}
interface WithConditions {
  readonly metadata?: { readonly name?: string };
  readonly status?: { readonly conditions?: readonly Condition[] };
}

const conditionOf = (o: WithConditions | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

/** One thing a level waits for, after the API: asked until it answers undefined (ready). */
interface ReadinessCheck {
  readonly step: string;
  readonly what: string;
  readonly intervalMs: number;
  check(creds: ClientCredentials, signal: AbortSignal): Promise<string | undefined>;
}

/** What the level waits for once /readyz holds, in order. */
function checksFor(r: ClusterReadiness): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [
    {
      step: "wait-nodes",
      what: "every node to be registered and Ready",
      intervalMs: 300,
      async check(creds, signal) {
        const list = await apiGetJson<{ items?: WithConditions[] }>(creds, "/api/v1/nodes", signal);
        const byName = new Map((list?.items ?? []).map((n) => [n.metadata?.name ?? "", n]));
        const waiting = r.nodes.flatMap((name) => {
          const node = byName.get(name);
          if (!node) return [`${name} not registered`];
          const ready = conditionOf(node, "Ready");
          return ready?.status === "True" ? [] : [`${name} not Ready${ready?.reason ? ` (${ready.reason})` : ""}`];
        });
        return waiting.length === 0 ? undefined : waiting.join(", ");
      },
    },
  ];
  if (r.level === "api") return checks;
  checks.push({
    step: "wait-workloads",
    what: "the default ServiceAccount (pods can be created)",
    intervalMs: 300,
    check: async (creds, signal) =>
      (await apiGetJson(creds, "/api/v1/namespaces/default/serviceaccounts/default", signal)) === undefined
        ? "serviceaccount default/default not found"
        : undefined,
  });
  if (r.level === "workloads" || r.addons.length === 0) return checks;
  checks.push({
    step: "wait-addons",
    what: `the add-ons ${r.addons.join(", ")} to be Available`,
    intervalMs: 500,
    async check(creds, signal) {
      const waiting: string[] = [];
      for (const name of r.addons) {
        const d = await apiGetJson<WithConditions>(creds, `/apis/apps/v1/namespaces/kube-system/deployments/${name}`, signal);
        const available = conditionOf(d, "Available");
        if (!d) waiting.push(`${name} not deployed yet`);
        else if (available?.status !== "True")
          waiting.push(`${name} not Available${available?.message ? ` (${available.message})` : ""}`);
      }
      return waiting.length === 0 ? undefined : waiting.join(", ");
    },
  });
  return checks;
}

export async function waitForCluster(
  creds: ClientCredentials,
  r: ClusterReadiness,
  o: { readonly onEvent: EventSink; readonly signal: AbortSignal },
): Promise<void> {
  const { onEvent, signal } = o;
  await step(onEvent, "wait-api", () => waitForApi(creds, signal));
  for (const c of checksFor(r)) {
    await step(onEvent, c.step, () => pollUntil(c.what, () => c.check(creds, signal), signal, c.intervalMs));
  }
}

/**
 * Whether a cluster that has been up for a while is ready now, asking everything once (a single
 * `ok` from /readyz): undefined when it is, else what is not. A cluster just started is waited for
 * with waitForCluster instead, which also sees a node crash between two answers.
 */
export async function notReadyNow(
  creds: ClientCredentials,
  r: ClusterReadiness,
  signal: AbortSignal,
): Promise<string | undefined> {
  const readyz = await apiGet(creds, "/readyz", signal);
  if (readyz.status !== 200 || readyz.body.trim() !== "ok")
    return `/readyz: HTTP ${readyz.status}: ${readyz.body.trim().slice(0, 200)}`;
  for (const c of checksFor(r)) {
    const why = await c.check(creds, signal);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** What ready means for a cluster as its containers describe it: its running k3s nodes, the add-ons its first server runs. */
export function clusterReadiness(ref: Pick<ClusterRef, "servers" | "agents">, level: ReadyLevel): ClusterReadiness {
  return {
    level,
    nodes: [...ref.servers, ...ref.agents].filter((c) => c.running).map((c) => c.name),
    addons: enabledAddons(ref.servers[0]?.spec.cmd ?? []),
  };
}
