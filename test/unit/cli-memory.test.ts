import { describe, expect, it } from "vitest";
import { collectingGarbage, mayDecompress } from "../../src/cli/memory.js";
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

describe("mayDecompress", () => {
  const files = new Set(["./images.tar.zst", "app.tar", "k3box.yaml"]);
  const isFile = (p: string) => files.has(p);
  it("does not hold for a command line that names no file and no stdin", () => {
    expect(mayDecompress(["image", "import", "app:dev", "redis:7", "-c", "dev"], isFile)).toBe(false);
    expect(mayDecompress(["cluster", "create", "dev", "--agents=2", "--timeout", "3m"], isFile)).toBe(false);
  });
  it("holds once a word, or an option's =value, is stdin or an existing file", () => {
    expect(mayDecompress(["image", "import", "-", "-c", "dev"], isFile)).toBe(true);
    expect(mayDecompress(["image", "import", "./images.tar.zst"], isFile)).toBe(true);
    // An existing file wins over an image of the same name.
    expect(mayDecompress(["image", "import", "app.tar"], isFile)).toBe(true);
    expect(mayDecompress(["cluster", "create", "--config=k3box.yaml"], isFile)).toBe(true);
    expect(mayDecompress(["config", "validate", "--config=-"], isFile)).toBe(true);
  });
});
