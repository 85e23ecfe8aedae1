import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgress } from "../../src/cli/progress.js";
import { canAnimate } from "../../src/cli/terminal.js";

/** A stderr stand-in that says what kind of terminal it is. */
function fakeStream(isTTY: boolean, columns: number): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough();
  let out = "";
  s.on("data", (c: Buffer) => (out += c.toString()));
  Object.assign(s, { isTTY, columns });
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
    expect(text()).toMatch(/^✓ Network created \(1\.2s\)\n$/);
  });
});
