import { describe, expect, it } from "vitest";
import { collectingGarbage } from "../../src/cli/memory.js";
import type { ClusterEvent } from "../../src/index.js";

const MB = 1024 * 1024;

/** The events one source sends into `nodes` nodes, 256 kB at a time, every node at the same pace. */
function oneSource(nodes: readonly string[], bytes: number): ClusterEvent[] {
  const events: ClusterEvent[] = nodes.map((node) => ({ type: "import-start", node, source: "app:dev" }));
  for (let sent = 256 * 1024; sent <= bytes; sent += 256 * 1024)
    for (const node of nodes) events.push({ type: "import-progress", node, bytes: sent });
  return events;
}

describe("collectingGarbage", () => {
  it("counts what the CLI read, once, however many nodes receive it, and passes every event on", () => {
    for (const nodes of [["server-0"], ["server-0", "agent-0", "agent-1"]]) {
      const freed: number[] = [];
      const passed: ClusterEvent[] = [];
      const sink = collectingGarbage(
        (e) => passed.push(e),
        (b) => freed.push(b),
      );
      const events = [...oneSource(nodes, 10 * MB), ...oneSource(nodes, 4 * MB)];
      for (const e of events) sink(e);
      expect(freed.reduce((a, b) => a + b, 0)).toBe(14 * MB);
      expect(passed).toEqual(events);
    }
  });
});
