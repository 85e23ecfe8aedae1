/**
 * k3s nodes and the nginx load balancer as programs for the memory engine: what they print when
 * they come up (the milestones k3box waits for), the admin kubeconfig a server writes, and the
 * answers of `nginx -t` / `nginx -s reload` that an in-place load balancer update reads.
 */
import type { ContainerSpec } from "../../src/runtime/types.js";
import { DEFAULT_K3S_IMAGE, DEFAULT_LOADBALANCER_IMAGE } from "../../src/core/cluster-spec/defaults.js";
import { K3BOX, K3D } from "../../src/core/dialect.js";
import { NGINX_CONFIG_PATH } from "../../src/core/loadbalancer/nginx.js";
import { KUBECONFIG_OUTPUT } from "../../src/core/node/paths.js";
import { K3S_KUBECONFIG } from "../unit/k3s-kubeconfig-fixture.js";
import { MemoryRuntime, type ProcessContext } from "./memory-runtime/index.js";
import { answerProbes } from "./probe.js";

type Container = { readonly name: string; readonly spec: ContainerSpec };

/** What a k3s node's container runs: `server` or `agent`, as k3box's node containers say in their command. */
export function k3sRole(c: Container): "server" | "agent" | undefined {
  if (c.spec.env?.K3S_KUBECONFIG_OUTPUT === undefined) return undefined;
  const role = c.spec.cmd?.[0];
  return role === "server" || role === "agent" ? role : undefined;
}

function isLoadBalancer(c: Container): boolean {
  return [K3BOX, K3D].some((d) => c.spec.labels[d.labels.role] === "loadbalancer");
}

/** The lines a node prints once it is up, by role; a server first launches its apiserver. */
export function milestoneLines(role: "server" | "agent", node: string): string[] {
  return role === "server"
    ? ['level=info msg="Running kube-apiserver --advertise-port=6443"', 'level=info msg="k3s is up and running"']
    : [`level=info msg="Successfully registered node ${node}"`];
}

/** How a scripted node comes up: as k3s does (the default), crashing after its milestone, or failing before it. */
export type NodeBehaviour =
  | { readonly kind: "up" }
  /** Logs its milestone, then goes down with this code (as k3s does when its kubelet dies). */
  | { readonly kind: "down-after-milestone"; readonly exitCode: number; readonly afterMs?: number }
  /** Logs a fatal line and exits 1 before its milestone. */
  | { readonly kind: "fatal"; readonly message: string };

function k3sProgram(role: "server" | "agent", behaviour: () => NodeBehaviour) {
  return async (p: ProcessContext) => {
    const b = behaviour();
    // A server writes its admin kubeconfig early in its start, where K3S_KUBECONFIG_OUTPUT says.
    if (role === "server") p.files.write({ path: KUBECONFIG_OUTPUT, content: K3S_KUBECONFIG, mode: 0o600 });
    if (b.kind === "fatal") {
      p.log('level=info msg="Starting k3s"', `level=fatal msg="${b.message}"`);
      p.exit(1);
      return;
    }
    p.log('level=info msg="Starting k3s"', ...milestoneLines(role, p.container));
    if (b.kind === "down-after-milestone") {
      await new Promise((r) => setTimeout(r, b.afterMs ?? 0));
      p.log('E0101 00:00:00.000000 kubelet.go:1 "Failed to start ContainerManager" err="cgroup v1"');
      p.exit(b.exitCode);
    }
  };
}

/**
 * Every k3s node container (any dialect, any image) runs as k3s would: it writes the admin
 * kubeconfig (servers) and prints its milestone. `behaviour` picks another course per node.
 */
export function scriptK3sNodes(rt: MemoryRuntime, behaviour: (node: string) => NodeBehaviour = () => ({ kind: "up" })): void {
  for (const role of ["server", "agent"] as const) {
    rt.program(
      (c) => k3sRole(c) === role,
      (p) => k3sProgram(role, () => behaviour(p.container))(p),
    );
  }
}

/** nginx's error log lines, as the official image prints them to stderr. */
const nginxLine = (text: string) => `2026/01/01 00:00:00 [notice] 1#1: ${text}`;

/** The node names a k3box nginx config sends traffic to (`server NAME:PORT ...;`), sorted. */
export function upstreamNames(config: string): string[] {
  return [...new Set([...config.matchAll(/^\s*server (\S+):\d+ /gm)].map((m) => m[1] as string))].sort();
}

/**
 * The load balancer runs nginx: it prints "start worker processes" when it starts; `nginx -t`
 * refuses a config that names a node Docker's DNS does not know from inside the load balancer
 * (a stopped or missing container), as nginx does; `nginx -s reload` logs the reload lines
 * k3box confirms it by.
 */
export function scriptLoadBalancer(rt: MemoryRuntime): void {
  rt.program(isLoadBalancer, (p) => p.log(nginxLine('using the "epoll" event method'), nginxLine("start worker processes")));
  rt.onExec(isLoadBalancer, ["nginx", "-t"], ({ container, files }) => {
    const config = files.read(NGINX_CONFIG_PATH).content.toString();
    const unknown = upstreamNames(config).find((n) => rt.resolve(container, n).length === 0);
    if (unknown === undefined) return { stderr: "nginx: configuration file /etc/nginx/nginx.conf test is successful\n" };
    return { exitCode: 1, stderr: `nginx: [emerg] host not found in upstream "${unknown}" in /etc/nginx/nginx.conf\n` };
  });
  rt.onExec(isLoadBalancer, ["nginx", "-s", "reload"], ({ log }) => {
    log(
      nginxLine("signal 1 (SIGHUP) received from 42, reconfiguring"),
      nginxLine("reconfiguring"),
      nginxLine("start worker processes"),
    );
    return {};
  });
}

/**
 * An engine with the default k3s and load balancer images, whose nodes and load balancer run as
 * scripted above, and whose node image answers k3box's probe.
 */
export function k3sEngine(behaviour?: (node: string) => NodeBehaviour): MemoryRuntime {
  const rt = new MemoryRuntime({ images: { [DEFAULT_K3S_IMAGE]: {}, [DEFAULT_LOADBALANCER_IMAGE]: {} } });
  answerProbes(rt);
  scriptK3sNodes(rt, behaviour);
  scriptLoadBalancer(rt);
  return rt;
}
