import { describe, expect, it } from "vitest";
import { LABEL } from "../../src/core/labels.js";
import { proxiedPorts, storedPorts } from "../../src/core/loadbalancer/targets.js";
import { renderLoadBalancerConfig } from "../../src/core/loadbalancer/update.js";
import { checkAdds, matchDeletes, pairMappings } from "../../src/core/plan/port-edit.js";
import { placePort } from "../../src/core/spec/build.js";
import { parsePortMapping } from "../../src/core/spec/ports.js";
import type { ContainerInfo } from "../../src/runtime/types.js";

const nodes = [
  { name: "s0", role: "server" as const, index: 0 },
  { name: "s1", role: "server" as const, index: 1 },
  { name: "a0", role: "agent" as const, index: 0 },
  { name: "a1", role: "agent" as const, index: 1 },
];

describe("load balancer targets", () => {
  it("the API goes to servers; a stored port is re-parsed and goes to every node its filter selects, agents included", () => {
    const ports = storedPorts(["8080:80", "8443:443@agent:1", "53/udp@server:*"], { servers: 2, agents: 2 });
    expect(proxiedPorts(ports, nodes)).toEqual([
      { port: 6443, protocol: "tcp", targets: ["s0", "s1"] },
      { port: 80, protocol: "tcp", targets: ["s0", "s1", "a0", "a1"] },
      { port: 443, protocol: "tcp", targets: ["a1"] },
      { port: 53, protocol: "udp", targets: ["s0", "s1"] },
    ]);
  });

  it("the rendered config has only running nodes, and leaves out a port no running node serves", () => {
    const c = (name: string, role: string, index: number, running: boolean) =>
      ({ name, running, labels: { [LABEL.role]: role, [LABEL.index]: String(index) } }) as unknown as ContainerInfo;
    const config = renderLoadBalancerConfig(["8443:443@agent:1"], [c("s0", "server", 0, true), c("a1", "agent", 1, false)]);
    expect(config).toContain("server s0:6443");
    expect(config).not.toContain("a1");
    expect(config).toContain("# 443/tcp: no running node selected");
    expect(config).not.toContain("listen 443");
  });
});

describe("port edit", () => {
  const counts = { servers: 1, agents: 1, loadBalancer: true };
  const spec = (raw: string) => ({ raw, mapping: placePort(parsePortMapping(raw), counts) });
  const api = { containerPort: 6443, protocol: "tcp" as const, hostIp: "127.0.0.1", hostPort: 40000 };
  const published = [
    api,
    { containerPort: 80, protocol: "tcp" as const, hostIp: "127.0.0.1", hostPort: 41000 },
    { containerPort: 80, protocol: "tcp" as const, hostIp: "127.0.0.1", hostPort: 8080 },
  ];

  it("pairs stored specs with their published ports, explicit host ports first", () => {
    const pairs = pairMappings([spec("80"), spec("8080:80")], published, 40000);
    expect(pairs.map((p) => [p.raw, p.binding.hostPort])).toEqual([
      ["80", 41000],
      ["8080:80", 8080],
    ]);
  });

  it("--port-delete matches the spec as written, a bare host port, or a spec with that host port", () => {
    const pairs = pairMappings([spec("80"), spec("8080:80")], published, 40000);
    expect(matchDeletes(pairs, ["80"]).map((p) => p.raw)).toEqual(["80"]);
    expect(matchDeletes(pairs, ["8080"]).map((p) => p.raw)).toEqual(["8080:80"]);
    expect(matchDeletes(pairs, ["127.0.0.1:41000:80"]).map((p) => p.raw)).toEqual(["80"]);
    expect(() => matchDeletes(pairs, ["9999"])).toThrow(/matches no port mapping/);
  });

  it("--port-add may not take a published host port, nor publish on a node directly", () => {
    const pairs = pairMappings([spec("8080:80")], published, 40000);
    expect(() => checkAdds([placePort(parsePortMapping("8080:443"), counts)], pairs, api)).toThrow(/already mapped by "8080:80"/);
    expect(() => checkAdds([placePort(parsePortMapping("40000:443"), counts)], pairs, api)).toThrow(/the API/);
    expect(() => checkAdds([placePort(parsePortMapping("9000:90@agent:0:direct"), counts)], pairs, api)).toThrow(
      /cannot add ports/,
    );
    expect(() => checkAdds([placePort(parsePortMapping("9000:443"), counts)], pairs, api)).not.toThrow();
  });
});
