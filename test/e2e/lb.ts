/** Looking at a cluster's load balancer from outside: its nginx config and traffic through it. */
import { get } from "node:http";
import { docker, dockerJson } from "./helpers.js";

export async function lbConfig(cluster: string): Promise<string> {
  const r = await docker(["exec", `k3box-${cluster}-serverlb`, "cat", "/etc/nginx/nginx.conf"]);
  if (r.code !== 0) throw new Error(`reading the LB config of ${cluster}: ${r.stderr}`);
  return r.stdout;
}

/** The targets of each upstream, e.g. { "6443/tcp": ["k3box-c-server-0"], "80/tcp": [...] }. */
export function upstreams(config: string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const m of config.matchAll(/upstream port_(\d+)_(tcp|udp) \{([^}]*)\}/g)) {
    result[`${m[1]}/${m[2]}`] = [...(m[3] as string).matchAll(/server ([^:\s]+):\d+/g)].map((s) => s[1] as string);
  }
  return result;
}

/**
 * The node that answered on the ingress stand-in, or undefined when nothing answered. One
 * connection per request: nginx balances connections, and a kept-alive one stays with one node.
 */
export function ingress(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (b: Buffer) => (body += b.toString()));
      res.on("end", () => resolve(/node (\S+)/.exec(body)?.[1]));
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/** Every node seen answering on the port within `tries` requests (nginx balances round robin). */
export async function ingressNodes(port: number, tries = 12): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < tries; i++) {
    const n = await ingress(port);
    if (n) seen.add(n);
  }
  return seen;
}

/** Polls the port until `node` answers (a new node's ingress comes up a moment after it registers). */
export async function reaches(port: number, node: string, limitMs = 60_000): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if ((await ingress(port)) === node) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

export async function containerIds(cluster: string): Promise<string[]> {
  const r = await docker(["ps", "-a", "-q", "--no-trunc", "--filter", `label=dev.k3box.cluster=${cluster}`]);
  return r.stdout.split("\n").filter(Boolean).sort();
}

export async function states(cluster: string): Promise<Record<string, string>> {
  const ids = await containerIds(cluster);
  if (ids.length === 0) return {};
  const info = await dockerJson<Array<{ Name: string; State: { Status: string } }>>(["inspect", ...ids]);
  return Object.fromEntries(info.map((i) => [i.Name.slice(1), i.State.Status]));
}
