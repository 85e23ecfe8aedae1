import { execFileSync } from "node:child_process";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/program.js";

/** What `k3box __complete WORDS...` prints, one candidate a line. */
async function complete(...words: string[]): Promise<string[]> {
  const out = new PassThrough();
  let text = "";
  out.on("data", (b: Buffer) => (text += b.toString()));
  const streams = { stdout: out as unknown as NodeJS.WriteStream, stderr: new PassThrough() as unknown as NodeJS.WriteStream };
  // An engine that cannot be reached: names come out empty, commands and flags do not.
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = "garbage://nowhere";
  try {
    expect(await run(["__complete", ...words], streams, new AbortController().signal)).toBe(0);
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
  return text.split("\n").filter(Boolean);
}

describe("shell completion", () => {
  it("completes commands, their aliases' subcommands, and flags", async () => {
    expect(await complete("")).toEqual(expect.arrayContaining(["cluster", "node", "completion", "config", "version"]));
    expect(await complete("cl")).toEqual(["cluster"]);
    expect(await complete("clusters", "")).toEqual(["create", "delete", "edit", "get", "list", "restart", "start", "stop"]);
    expect(await complete("cluster", "create", "--ag")).toEqual(["--agents", "--agents-memory"]);
    expect(await complete("cluster", "create", "-")).toEqual(
      expect.arrayContaining(["--servers", "-s", "--dry-run", "--verbose"]),
    );
    expect(await complete("node", "create", "--rep")).toEqual(["--replicas"]);
  });

  it("skips option values, so the command after them is still known", async () => {
    expect(await complete("--verbose", "cluster", "create", "-a", "2", "--dry")).toEqual(["--dry-run"]);
    expect(await complete("cluster", "list", "-o", "json", "--no")).toEqual(["--no-headers"]);
  });

  it("prints nothing (and no error) where names would come from an engine it cannot reach", async () => {
    expect(await complete("cluster", "get", "")).toEqual([]);
    expect(await complete("node", "list", "--cluster", "")).toEqual([]);
  });

  it("prints a script for each shell that calls back into k3box, and refuses others", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const out = new PassThrough();
      let text = "";
      out.on("data", (b: Buffer) => (text += b.toString()));
      const streams = {
        stdout: out as unknown as NodeJS.WriteStream,
        stderr: new PassThrough() as unknown as NodeJS.WriteStream,
      };
      expect(await run(["completion", shell], streams, new AbortController().signal)).toBe(0);
      expect(text).toContain("k3box __complete");
    }
    const err = new PassThrough();
    let stderr = "";
    err.on("data", (b: Buffer) => (stderr += b.toString()));
    const streams = { stdout: new PassThrough() as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream };
    expect(await run(["completion", "tcsh"], streams, new AbortController().signal)).toBe(2);
    expect(stderr).toContain('invalid shell "tcsh": use bash, zsh, fish');
  });

  it("the bash script is valid bash", async () => {
    const out = new PassThrough();
    let script = "";
    out.on("data", (b: Buffer) => (script += b.toString()));
    const streams = { stdout: out as unknown as NodeJS.WriteStream, stderr: new PassThrough() as unknown as NodeJS.WriteStream };
    await run(["completion", "bash"], streams, new AbortController().signal);
    expect(() => execFileSync("bash", ["-n"], { input: script })).not.toThrow();
  });
});
