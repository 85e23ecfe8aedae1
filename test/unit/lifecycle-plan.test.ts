import { describe, expect, it } from "vitest";
import type { Action } from "../../src/core/plan/create.js";
import { planStart, planStop, type NodeState } from "../../src/core/plan/lifecycle.js";

function show(a: Action): string {
  switch (a.type) {
    case "sequence":
      return `seq(${a.actions.map(show).join(", ")})`;
    case "parallel":
      return `par(${a.actions.map(show).join(", ")})`;
    case "start":
      return `start:${a.container}${a.milestone ? `@${a.milestone}` : ""}`;
    case "wait":
      return `wait:${a.container}@${a.milestone}`;
    case "stop":
      return `stop:${a.container}`;
    default:
      return a.type;
  }
}

const node = (role: NodeState["role"], index: number, extra: Partial<NodeState> = {}): NodeState => ({
  name: role === "loadbalancer" ? "lb" : `${role[0]}${index}`,
  role,
  index,
  init: false,
  running: false,
  ...extra,
});

describe("planStart", () => {
  it("HA: init server first, the others one at a time until started, then all waited for, then agents in parallel", () => {
    const nodes = [
      node("agent", 1),
      node("server", 2),
      node("server", 1),
      node("server", 0, { init: true }),
      node("agent", 0),
      node("loadbalancer", 0),
    ];
    expect(show(planStart(nodes, true))).toBe(
      "seq(start:s0@server-started, start:s1@server-started, start:s2@server-started, " +
        "par(wait:s0@server, wait:s1@server, wait:s2@server), par(start:a0@agent, start:a1@agent))",
    );
  });

  it("the init server goes first even when it is not index 0", () => {
    const nodes = [node("server", 0), node("server", 1, { init: true })];
    expect(show(planStart(nodes, true))).toMatch(/^seq\(start:s1@server-started, start:s0@server-started/);
  });

  it("a single server is waited for until fully up", () => {
    expect(show(planStart([node("server", 0), node("agent", 0)], true))).toBe("seq(start:s0@server, par(start:a0@agent))");
  });

  it("skips running nodes, and waits for nothing with wait off", () => {
    const nodes = [node("server", 0, { init: true, running: true }), node("server", 1), node("agent", 0, { running: true })];
    expect(show(planStart(nodes, true))).toBe("seq(start:s1@server-started, par(wait:s1@server), par())");
    expect(show(planStart(nodes, false))).toBe("seq(start:s1, par())");
  });
});

describe("planStop", () => {
  it("load balancer, then agents, then joined servers, and the init server last; stopped nodes are left alone", () => {
    const nodes = [
      node("server", 0, { init: true, running: true }),
      node("server", 1, { running: true }),
      node("server", 2),
      node("agent", 0, { running: true }),
      node("loadbalancer", 0, { running: true }),
    ];
    expect(show(planStop(nodes, 30))).toBe("seq(par(stop:lb), par(stop:a0), par(stop:s1), stop:s0)");
  });
});
