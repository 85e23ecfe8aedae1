import { describe, expect, it } from "vitest";
import { renderNginxConfig } from "../../src/core/loadbalancer/nginx.js";
import { planCreate, type PlanContext } from "../../src/core/plan/cluster.js";
import type { Action } from "../../src/core/plan/actions.js";
import { describePlan } from "../../src/core/plan/describe.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { DEFAULT_LOADBALANCER_IMAGE } from "../../src/core/cluster-spec/defaults.js";
import type { ClusterInput } from "../../src/core/cluster-spec/input.js";
import { parseNodeFilters } from "../../src/core/cluster-spec/filters.js";
import { toCreateOptions } from "../../src/runtime/docker/translate.js";

const ctx: PlanContext = {
  token: "t0ken",
  apiHostPort: 6550,
  portHostPorts: new Map([[1, 30001]]),
  networkExists: false,
  version: "0.0.0-test",
  nodeEntrypoint: '#!/bin/sh\nexec /bin/k3s "$@"\n',
};

const ENTRYPOINT = { path: "/bin/k3box-entrypoint.sh", content: ctx.nodeEntrypoint, mode: 0o755 };

async function plan(input: ClusterInput, c: PlanContext = ctx) {
  return planCreate(await buildClusterSpec({ name: "demo", ...input }), c);
}

/** The plan's actions as short strings, for readable order assertions. */
function flatten(a: Action): string[] {
  switch (a.type) {
    case "sequence":
      return [`seq(${a.actions.flatMap(flatten).join(", ")})`];
    case "parallel":
      return [`par(${a.actions.flatMap(flatten).join(", ")})`];
    case "ensure-image":
      return [`${a.type}:${a.image}`];
    case "create-network":
      return [`network:${a.network.name}`];
    case "create-volume":
      return [`volume:${a.volume.name}`];
    case "create-container":
      return [`create:${a.container.name}`];
    case "start":
      return [`start:${a.container}${a.milestone ? `@${a.milestone}` : ""}`];
    case "connect-network":
      return [`connect:${a.container}>${a.network}`];
    case "wait-registry":
      return [`wait-registry:${a.container}@${a.address}`];
    case "wait":
      return [`wait:${a.container}@${a.milestone}`];
    case "stop":
      return [`stop:${a.container}`];
    case "wait-ready":
      return [`wait-ready:${a.cluster}`];
    default:
      return [a.type];
  }
}

describe("planCreate", () => {
  it("orders a 3 server + 2 agent create: init server, then joins one by one alongside agents and the LB", async () => {
    const p = await plan({ servers: 3, agents: 2, image: "img", loadBalancerImage: "lb:1" });
    expect(flatten(p.actions)[0]).toBe(
      "seq(par(ensure-image:img, ensure-image:lb:1), network:k3box-demo, " +
        "par(volume:k3box-demo-server-0-data, volume:k3box-demo-server-1-data, volume:k3box-demo-server-2-data, volume:k3box-demo-agent-0-data, volume:k3box-demo-agent-1-data, volume:k3box-demo-images), " +
        "par(create:k3box-demo-server-0, create:k3box-demo-server-1, create:k3box-demo-server-2, create:k3box-demo-agent-0, create:k3box-demo-agent-1, create:k3box-demo-serverlb), " +
        "start:k3box-demo-server-0@server, " +
        "par(seq(start:k3box-demo-server-1@server, start:k3box-demo-server-2@server), start:k3box-demo-agent-0@agent, start:k3box-demo-agent-1@agent, start:k3box-demo-serverlb@loadbalancer), " +
        "wait-ready:demo)",
    );
  });

  it("gives server-0 --cluster-init only when there are several servers, and joiners K3S_URL", async () => {
    const ha = await plan({ servers: 2 });
    const [s0, s1] = ha.nodes;
    expect(s0?.container.cmd).toContain("--cluster-init");
    expect(s0?.container.env?.K3S_URL).toBeUndefined();
    expect(s1?.container.cmd).not.toContain("--cluster-init");
    expect(s1?.container.env?.K3S_URL).toBe("https://k3box-demo-server-0:6443");
    const single = await plan({});
    expect(single.nodes[0]?.container.cmd).not.toContain("--cluster-init");
  });

  it("builds node containers as k3s needs them", async () => {
    const p = await plan({ agents: 1, env: ["A=1@agent:0"], k3sArgs: ["--disable=traefik"], volumes: ["/src:/dst@agent:0"] });
    const [server, agent] = p.nodes;
    expect(server?.container).toMatchObject({
      name: "k3box-demo-server-0",
      hostname: "k3box-demo-server-0",
      privileged: true,
      tmpfs: ["/run", "/var/run"],
      restartPolicy: "unless-stopped",
      network: "k3box-demo",
      cmd: ["server", "--tls-san", "127.0.0.1", "--tls-san", "k3box-demo-serverlb", "--disable=traefik"],
      env: { K3S_TOKEN: "t0ken", K3S_KUBECONFIG_OUTPUT: "/output/kubeconfig.yaml" },
    });
    expect(server?.container.mounts).toEqual([
      { type: "volume", source: "k3box-demo-server-0-data", target: "/var/lib/rancher/k3s" },
      { type: "volume", source: "k3box-demo-images", target: "/k3d/images" },
    ]);
    expect(agent?.container.cmd).toEqual(["agent"]);
    expect(agent?.container.env).toMatchObject({ A: "1", K3S_URL: "https://k3box-demo-server-0:6443" });
    expect(agent?.container.mounts?.[2]).toMatchObject({ type: "bind", source: "/src", target: "/dst" });
  });

  it("publishes the API and proxied ports on the load balancer, direct ports on their node", async () => {
    const p = await plan({ agents: 1, ports: ["8080:80@loadbalancer", "0.0.0.0::443", "9000:9000@agent:0:direct"] });
    const lb = p.nodes.find((n) => n.role === "loadbalancer");
    expect(lb?.container.ports).toEqual([
      { containerPort: 6443, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 6550 },
      { containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 8080 },
      { containerPort: 443, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 30001 },
    ]);
    expect(p.nodes.find((n) => n.name === "k3box-demo-agent-0")?.container.ports).toEqual([
      { containerPort: 9000, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 9000 },
    ]);
    expect(p.api).toEqual({ host: "127.0.0.1", hostIp: "127.0.0.1", hostPort: 6550, via: "k3box-demo-serverlb" });
  });

  it("renders the nginx config: API to servers, proxied ports to servers and agents", async () => {
    const p = await plan({ servers: 2, agents: 1, ports: ["8080:80"] });
    const create = JSON.stringify(p.actions);
    const config = renderNginxConfig([
      { port: 6443, protocol: "tcp", targets: ["k3box-demo-server-0", "k3box-demo-server-1"] },
      { port: 80, protocol: "tcp", targets: ["k3box-demo-server-0", "k3box-demo-server-1", "k3box-demo-agent-0"] },
    ]);
    expect(create).toContain(JSON.stringify(config).slice(1, -1));
    expect(config).toContain("upstream port_6443_tcp {\n    server k3box-demo-server-0:6443");
    expect(config).not.toMatch(/port_6443_tcp \{[^}]*agent/);
    expect(config).toContain("server k3box-demo-agent-0:80 max_fails=1 fail_timeout=10s;");
  });

  it("publishes the API on server-0 without a load balancer", async () => {
    const p = await plan({ loadBalancer: false });
    expect(p.nodes.map((n) => n.name)).toEqual(["k3box-demo-server-0"]);
    expect(p.nodes[0]?.container.ports).toEqual([{ containerPort: 6443, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 6550 }]);
    expect(p.nodes[0]?.container.cmd).not.toContain("k3box-demo-serverlb");
  });

  it("creates no network when it exists already, and marks it external", async () => {
    const p = await plan({ network: "shared" }, { ...ctx, networkExists: true });
    expect(JSON.stringify(p.actions)).not.toContain("create-network");
    expect(p.network).toEqual({ name: "shared", external: true });
    expect(p.nodes[0]?.container.labels["dev.k3box.network.external"]).toBe("true");
  });

  it("records the default image import mode on every k3s node, eager unless given", async () => {
    const labels = async (input: Parameters<typeof plan>[0]) =>
      (await plan(input)).nodes
        .filter((n) => n.role !== "loadbalancer")
        .map((n) => n.container.labels["dev.k3box.image.import.mode"]);
    expect(await labels({ agents: 1, imageImportMode: "registry" })).toEqual(["registry", "registry"]);
    expect(await labels({ agents: 1 })).toEqual(["eager", "eager"]);
  });

  it("omits milestones when not waiting", async () => {
    const p = await plan({ wait: false });
    expect(flatten(p.actions)[0]).toContain("start:k3box-demo-server-0,");
  });
});

describe("arguments for agents added later", () => {
  it("are kept on the servers: those for every agent, not those for one agent or for servers", async () => {
    const p = await plan({
      agents: 1,
      nodeLabels: ["tier=edge"],
      k3sArgs: ["--kubelet-arg=max-pods=50@agent:*", "--node-taint=x=y:NoSchedule@agent:0", "--disable=traefik@server:*"],
    });
    const server = p.nodes.find((n) => n.role === "server");
    expect(JSON.parse(server?.container.labels["dev.k3box.agent.args"] ?? "null")).toEqual([
      "--kubelet-arg=max-pods=50",
      "--node-label=tier=edge",
    ]);
    expect(p.nodes.find((n) => n.role === "agent")?.container.labels["dev.k3box.agent.args"]).toBeUndefined();
  });
});

describe("planned node files", () => {
  it("puts each file into the nodes its filter selects and records the paths on them", async () => {
    const spec = await buildClusterSpec({ name: "demo", servers: 1, agents: 2 });
    const p = planCreate(
      {
        ...spec,
        files: [
          { destination: "/etc/a", content: "a", filters: parseNodeFilters("all", ""), raw: "a" },
          { destination: "/etc/b", content: "b", mode: 0o600, filters: parseNodeFilters("agent:1", ""), raw: "b" },
        ],
      },
      ctx,
    );
    const byName = new Map(p.nodes.map((n) => [n.name, n]));
    expect(byName.get("k3box-demo-server-0")?.files.map((f) => f.path)).toEqual(["/bin/k3box-entrypoint.sh", "/etc/a"]);
    expect(byName.get("k3box-demo-agent-1")?.files).toEqual([
      ENTRYPOINT,
      { path: "/etc/a", content: "a" },
      { path: "/etc/b", content: "b", mode: 0o600 },
    ]);
    expect(byName.get("k3box-demo-agent-1")?.container.labels["dev.k3box.files"]).toBe(
      JSON.stringify(["/bin/k3box-entrypoint.sh", "/etc/a", "/etc/b"]),
    );
    const creates = flatten(p.actions)[0];
    expect(creates).toContain("create:k3box-demo-agent-1");
  });
});

describe("node entrypoint and host aliases", () => {
  it("starts every k3s node through the entrypoint script, which it puts in first", async () => {
    const p = await plan({ servers: 2, agents: 1, image: "example.com/custom/k3s:v1" });
    for (const n of p.nodes.filter((n) => n.role !== "loadbalancer")) {
      expect(n.container.entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
      expect(n.container.cmd?.[0]).toBe(n.role);
      expect(n.files).toEqual([ENTRYPOINT]);
      expect(n.container.labels["dev.k3box.files"]).toBe(JSON.stringify(["/bin/k3box-entrypoint.sh"]));
    }
    const lb = p.nodes.find((n) => n.role === "loadbalancer");
    expect(lb?.container.entrypoint).toBeUndefined();
    expect(lb?.container.labels["dev.k3box.files"]).toBeUndefined();
  });

  it("gives every k3s node the host aliases as a hosts file and records its path", async () => {
    const p = await plan({ agents: 1, hostAliases: ["10.0.0.5:db.internal,db", "[fd00::1]:v6.internal"] });
    for (const n of p.nodes.filter((n) => n.role !== "loadbalancer")) {
      expect(n.files[1]).toEqual({
        path: "/etc/k3box/hosts",
        content: "10.0.0.5 db.internal db\nfd00::1 v6.internal\n",
        mode: 0o644,
      });
      expect(JSON.parse(n.container.labels["dev.k3box.files"] ?? "[]")).toEqual(["/bin/k3box-entrypoint.sh", "/etc/k3box/hosts"]);
    }
  });

  it("sets the entrypoint in the Engine API body", async () => {
    const p = await plan({});
    expect(toCreateOptions(p.nodes[0]!.container).Entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
  });
});

describe("Docker translation", () => {
  it("maps a container spec to the Engine API body", () => {
    const body = toCreateOptions({
      name: "n",
      image: "img",
      labels: { a: "b" },
      privileged: true,
      tmpfs: ["/run"],
      ports: [{ containerPort: 6443, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 6550 }],
      mounts: [{ type: "bind", source: "/x", target: "/y", options: ["rshared"] }],
      network: "net",
      networkAliases: ["n"],
      restartPolicy: "unless-stopped",
      env: { K: "V" },
    });
    expect(body).toMatchObject({
      name: "n",
      Image: "img",
      Env: ["K=V"],
      ExposedPorts: { "6443/tcp": {} },
      HostConfig: {
        Privileged: true,
        Tmpfs: { "/run": "" },
        PortBindings: { "6443/tcp": [{ HostIp: "127.0.0.1", HostPort: "6550" }] },
        RestartPolicy: { Name: "unless-stopped" },
        NetworkMode: "net",
        Mounts: [{ Type: "bind", Source: "/x", Target: "/y", ReadOnly: false, BindOptions: { Propagation: "rshared" } }],
      },
      NetworkingConfig: { EndpointsConfig: { net: { Aliases: ["n"] } } },
    });
  });
});

describe("the plan as --dry-run prints it", () => {
  it("lists the ordered actions and hides the token, in env and in k3s arguments", async () => {
    const spec = await buildClusterSpec({
      name: "demo",
      agents: 1,
      subnet: "172.30.0.0/24",
      token: "s3cret",
      k3sArgs: ["--agent-token=hidden"],
    });
    const view = describePlan(planCreate(spec, { ...ctx, token: "s3cret", apiHostPort: 0 }));
    const text = JSON.stringify(view);
    expect(text).not.toContain("s3cret");
    expect(text).not.toContain("hidden");
    expect(view.actions).toEqual([
      {
        parallel: [
          "ensure image docker.io/rancher/k3s:v1.35.5-k3s1 (pull when missing)",
          `ensure image ${DEFAULT_LOADBALANCER_IMAGE} (pull when missing)`,
        ],
      },
      "create network k3box-demo with subnet 172.30.0.0/24",
      {
        parallel: [
          "create volume k3box-demo-server-0-data",
          "create volume k3box-demo-agent-0-data",
          "create volume k3box-demo-images",
        ],
      },
      {
        parallel: [
          "create container k3box-demo-server-0, then copy in /bin/k3box-entrypoint.sh",
          "create container k3box-demo-agent-0, then copy in /bin/k3box-entrypoint.sh",
          "create container k3box-demo-serverlb, then copy in /etc/nginx/nginx.conf",
        ],
      },
      "start k3box-demo-server-0 and wait for its server milestone",
      {
        parallel: [
          { sequence: [] },
          "start k3box-demo-agent-0 and wait for its agent milestone",
          "start k3box-demo-serverlb and wait for its loadbalancer milestone",
        ],
      },
      "wait until the API of cluster demo answers /readyz through its published address",
    ]);
    expect(view.api).toMatchObject({ hostPort: "auto" });
  });

  it("puts the caller's labels on every object it makes", async () => {
    const labels = { "dev.k3box.session": "s1", "example.dev/owner": "suite" };
    const p = await plan({ agents: 1, registryCreate: "reg" }, { ...ctx, registryHostPort: 5111, labels });
    const made: Array<{ name: string; labels: Readonly<Record<string, string>> }> = [];
    const walk = (a: Action): void => {
      if (a.type === "sequence" || a.type === "parallel") a.actions.forEach(walk);
      else if (a.type === "create-network") made.push(a.network);
      else if (a.type === "create-volume") made.push(a.volume);
      else if (a.type === "create-container") made.push(a.container);
    };
    walk(p.actions);
    expect(made.map((o) => o.name).sort()).toEqual([
      "k3box-demo",
      "k3box-demo-agent-0",
      "k3box-demo-agent-0-data",
      "k3box-demo-images",
      "k3box-demo-server-0",
      "k3box-demo-server-0-data",
      "k3box-demo-serverlb",
      "k3box-reg",
    ]);
    for (const o of made) expect(o.labels, o.name).toMatchObject({ "dev.k3box.session": "s1", "example.dev/owner": "suite" });
  });
});
