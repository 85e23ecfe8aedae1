import { spawnSync } from "node:child_process";
import { getHeapSpaceStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { runLean } from "../../src/cli/memory.js";

type Spaces = () => ReadonlyArray<{ space_name: string; space_size: number }>;

/** Allocates objects of which many survive a collection, as buffers in flight do; returns the young generation's size. */
function churn(spaces: Spaces): number {
  let kept: object[] = [];
  for (let i = 0; i < 3e6; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 20000) kept = [];
  }
  return spaces().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

// Flags set at run time hold for the whole process: vitest runs this file in a process of its own.
describe("runLean", () => {
  it("keeps the young generation at its starting size, where V8 alone grows it", () => {
    const start = getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
    const plain = spawnSync(
      process.execPath,
      ["-p", `(${churn.toString()})(() => require("node:v8").getHeapSpaceStatistics())`],
      {
        encoding: "utf8",
      },
    );
    expect(plain.status, plain.stderr).toBe(0);
    expect(Number(plain.stdout)).toBeGreaterThan(2 * start);

    runLean();
    expect(churn(getHeapSpaceStatistics)).toBe(start);
  });
});
