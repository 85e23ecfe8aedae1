import { clearLine, cursorTo, moveCursor } from "node:readline";
import { PassThrough } from "node:stream";
import chalk from "chalk";
import { afterEach, describe, expect, it } from "vitest";
import { applyColourPolicy } from "../../src/cli/colour.js";
import { createProgress, runningLine } from "../../src/cli/progress.js";
import { canAnimate } from "../../src/cli/terminal.js";

/** A stderr stand-in that says what kind of terminal it is. */
function fakeStream(isTTY: boolean, columns: number): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough();
  let out = "";
  s.on("data", (c: Buffer) => (out += c.toString()));
  // What the spinner library calls on a terminal stream.
  Object.assign(s, {
    isTTY,
    columns,
    cursorTo: (x: number) => cursorTo(s, x),
    clearLine: (dir: -1 | 0 | 1) => clearLine(s, dir),
    moveCursor: (dx: number, dy: number) => moveCursor(s, dx, dy),
  });
  return { stream: s as unknown as NodeJS.WriteStream, text: () => out };
}

describe("progress output", () => {
  it("animates only on a terminal that reports a width", () => {
    expect(canAnimate(fakeStream(true, 120).stream)).toBe(true);
    expect(canAnimate(fakeStream(true, 0).stream)).toBe(false);
    expect(canAnimate(fakeStream(false, 120).stream)).toBe(false);
  });

  it("writes plain lines on a terminal without a width, as it does on a pipe", async () => {
    const { stream, text } = fakeStream(true, 0);
    const progress = await createProgress(stream);
    progress.onEvent({ type: "step-start", step: "network" });
    progress.onEvent({ type: "step-done", step: "network", ms: 1200 });
    progress.stop();
    await new Promise((r) => setImmediate(r));
    expect(text()).toMatch(/^✓ Created the network \(1\.2s\)\n$/);
  });
});

describe("progress wording", () => {
  it("names every running step in the present, grouped by what they do", () => {
    const line = runningLine(
      [
        { step: "start-node", node: "k3box-x-agent-0" },
        { step: "start-node", node: "k3box-x-agent-1" },
        { step: "wait-node", node: "k3box-x-server-0" },
        { step: "network" },
      ],
      200,
    );
    expect(line).toBe("Starting k3box-x-agent-0, k3box-x-agent-1; Waiting for k3box-x-server-0; Creating the network…");
  });

  it("fits the terminal's width and says how many did not fit", () => {
    const steps = Array.from({ length: 12 }, (_, i) => ({ step: "start-node", node: `k3box-x-agent-${i}` }));
    const line = runningLine(steps, 60);
    expect(line.length).toBeLessThanOrEqual(60);
    expect(line).toBe("Starting k3box-x-agent-0, k3box-x-agent-1 (+10 more)…");
  });

  it("shows a pull's progress while the image step runs", () => {
    expect(runningLine([{ step: "image" }], 80, "Pulling k3s: Downloading 40%")).toBe("Pulling k3s: Downloading 40%…");
  });

  it("on a terminal: running steps in the spinner, finished ones in the past tense, never shown again as running", async () => {
    const { stream, text } = fakeStream(true, 120);
    const progress = await createProgress(stream);
    progress.onEvent({ type: "step-start", step: "start-node", node: "k3box-x-agent-0" });
    progress.onEvent({ type: "step-start", step: "start-node", node: "k3box-x-agent-1" });
    progress.onEvent({ type: "step-done", step: "start-node", node: "k3box-x-agent-0", ms: 1000 });
    progress.onEvent({ type: "step-done", step: "start-node", node: "k3box-x-agent-1", ms: 1000 });
    progress.stop();
    await new Promise((r) => setImmediate(r));
    const out = text();
    expect(out).toContain("Starting k3box-x-agent-0, k3box-x-agent-1…");
    expect(out).toContain("Started k3box-x-agent-0 ");
    const after = out.slice(out.indexOf("Started k3box-x-agent-0 "));
    expect(after).not.toContain("Starting k3box-x-agent-0");
    expect(out).not.toMatch(/Started[^\n]*…/);
  });

  it("a rollback ends the steps that were running when the operation failed", async () => {
    const { stream, text } = fakeStream(true, 120);
    const progress = await createProgress(stream);
    progress.onEvent({ type: "step-start", step: "start-node", node: "k3box-x-agent-0" });
    progress.onEvent({ type: "step-start", step: "rollback" });
    progress.onEvent({ type: "step-done", step: "rollback", ms: 10 });
    progress.stop();
    const out = text();
    expect(out.slice(out.lastIndexOf("Rolling back…"))).not.toContain("Starting");
  });
});

describe("colour", () => {
  const level = chalk.level;
  afterEach(() => {
    chalk.level = level;
  });

  it.each([
    [{ NO_COLOR: "1" }, 0],
    [{ NO_COLOR: "anything" }, 0],
    [{ NO_COLOR: "" }, 3],
    [{ NO_COLOR: "1", FORCE_COLOR: "1" }, 3],
    [{}, 3],
  ])("%o: level %i", (env, expected) => {
    chalk.level = 3;
    applyColourPolicy(env);
    expect(chalk.level).toBe(expected);
  });
});
