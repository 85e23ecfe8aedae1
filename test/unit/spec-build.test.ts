import { describe, expect, it } from "vitest";
import { buildClusterSpec } from "../../src/core/spec/build.js";
import { DEFAULT_K3S_IMAGE } from "../../src/core/spec/defaults.js";

describe("buildClusterSpec", () => {
  it("applies defaults: one server, loopback API, the default image", async () => {
    const spec = await buildClusterSpec({});
    expect(spec).toMatchObject({
      name: "k3s-default",
      servers: 1,
      agents: 0,
      image: DEFAULT_K3S_IMAGE,
      api: { host: "127.0.0.1", hostIp: "127.0.0.1" },
      loadBalancer: true,
      wait: true,
      rollback: true,
      kubeconfig: { updateDefault: true, switchContext: true },
    });
    expect(spec.api.hostPort).toBeUndefined();
  });

  it("sends ports without a filter through the load balancer to every node", async () => {
    const spec = await buildClusterSpec({ agents: 2, ports: ["8080:80", "8443:443@loadbalancer"] });
    for (const p of spec.ports) {
      expect(p.filters.map((f) => `${f.group}:${f.select.kind}:${f.suffix}`)).toEqual(["server:all:proxy", "agent:all:proxy"]);
    }
  });

  it("defaults k3s args to servers and env and volumes to every node", async () => {
    const spec = await buildClusterSpec({ agents: 1, k3sArgs: ["--disable=traefik"], env: ["A=1"], volumes: ["/x:/x"] });
    expect(spec.k3sArgs[0]?.filters.map((f) => f.group)).toEqual(["server"]);
    expect(spec.env[0]?.filters.map((f) => f.group)).toEqual(["server", "agent"]);
    expect(spec.volumes[0]?.filters.map((f) => f.group)).toEqual(["server", "agent"]);
  });

  it("publishes a port on the only node when there is no load balancer", async () => {
    const spec = await buildClusterSpec({ loadBalancer: false, ports: ["8080:80"] });
    expect(spec.ports[0]?.filters[0]).toMatchObject({ group: "server", suffix: "direct" });
  });

  it("turns an API host of 0.0.0.0 into a reachable kubeconfig host", async () => {
    const spec = await buildClusterSpec({ apiPort: "0.0.0.0:6550" });
    expect(spec.api).toEqual({ host: "127.0.0.1", hostIp: "0.0.0.0", hostPort: 6550 });
  });

  it("keeps a resolvable host name for the kubeconfig and binds its address", async () => {
    const spec = await buildClusterSpec({ apiPort: "localhost:6550" });
    expect(spec.api).toEqual({ host: "localhost", hostIp: "127.0.0.1", hostPort: 6550 });
  });

  it("reports every problem at once", async () => {
    const err = await buildClusterSpec({
      name: "Bad",
      servers: 0,
      ports: ["x", "8080:80@agent:5"],
      k3sArgs: ["--x@server:9"],
      apiPort: "nohost.invalid:1",
      timeout: "soon",
    }).catch((e: Error) => e);
    const lines = (err as Error).message.split("\n");
    expect(lines.some((l) => l.includes('invalid cluster name "Bad"'))).toBe(true);
    expect(lines.some((l) => l.includes('invalid server count "0"'))).toBe(true);
    expect(lines.some((l) => l.includes('invalid container port "x"'))).toBe(true);
    expect(lines.some((l) => l.includes('"agent:5"'))).toBe(true);
    expect(lines.some((l) => l.includes('"server:9"'))).toBe(true);
    expect(lines.some((l) => l.includes('"nohost.invalid"'))).toBe(true);
    expect(lines.some((l) => l.includes('invalid timeout "soon"'))).toBe(true);
  });

  it.each([
    [{ loadBalancer: false, ports: ["80@loadbalancer"] }, "the load balancer, but it is disabled"],
    [{ agents: 1, loadBalancer: false, ports: ["80"] }, "needs a node filter"],
    [{ agents: 2, ports: ["80@agent:*:direct"] }, "must select exactly one node"],
    [{ ports: ["8080:80", "8080:81"] }, "already taken"],
    [{ apiPort: "6550", ports: ["6550:80"] }, "already taken by --api-port"],
    [{ token: "has space" }, "invalid token"],
    [{ ports: ["80@all"] }, "not @all"],
  ])("rejects %o", async (input, message) => {
    await expect(buildClusterSpec(input)).rejects.toThrow(message);
  });
});

describe("the spec as people read it", () => {
  it("hides secrets in k3s arguments, whichever form they take", async () => {
    const { specView } = await import("../../src/core/spec/view.js");
    const spec = await buildClusterSpec({
      k3sArgs: [
        "--token=s3cret",
        "--datastore-endpoint=postgres://u:pw\\@db:5432/k3s",
        "--etcd-s3-secret-key=k",
        "--disable=traefik",
      ],
    });
    const text = JSON.stringify(specView(spec));
    expect(text).not.toMatch(/s3cret|pw@db|key=k"/);
    expect(text).toContain("--datastore-endpoint=<redacted>");
    expect(text).toContain("--disable=traefik");
  });
});

describe("ports on a cluster without agents", () => {
  it("go through the load balancer to the servers, with or without @loadbalancer", async () => {
    for (const raw of ["8080:80", "8080:80@loadbalancer"]) {
      const spec = await buildClusterSpec({ ports: [raw] });
      expect(spec.ports[0]?.filters.map((f) => f.group)).toEqual(["server", "agent"]);
    }
    await expect(buildClusterSpec({ ports: ["8080:80@agent:*"] })).rejects.toThrow('node filter "agent:*"');
  });
});

describe("load-balanced ports sharing a container port", () => {
  it("must go to the same nodes: the load balancer has one listener per port", async () => {
    await expect(buildClusterSpec({ agents: 2, ports: ["8091:80@agent:0", "8092:80@agent:1"] })).rejects.toThrow(
      'port mappings "8091:80@agent:0" and "8092:80@agent:1" both go through the load balancer\'s 80/tcp listener, to different nodes',
    );
    const same = await buildClusterSpec({ agents: 2, ports: ["8091:80@agent:0", "8092:80@agent:0"] });
    expect(same.ports).toHaveLength(2);
    const apart = await buildClusterSpec({ agents: 2, ports: ["8091:80@agent:0", "8092:80/udp@agent:1", "8093:8080@agent:1"] });
    expect(apart.ports).toHaveLength(3);
  });
});
