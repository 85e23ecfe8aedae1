import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import * as errors from "../../src/core/errors.js";
import { VERSION } from "../../src/core/version.js";
import { EXIT, exitCodeFor } from "../../src/cli/exit.js";
import { run } from "../../src/cli/program.js";

function streams() {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (b: Buffer) => (stdout += b.toString()));
  err.on("data", (b: Buffer) => (stderr += b.toString()));
  return {
    streams: { stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream },
    text: () => ({ stdout, stderr }),
  };
}

describe("exit codes", () => {
  it.each([
    [new errors.UsageError("x"), EXIT.usage],
    [new errors.RuntimeUnavailableError("x"), EXIT.runtimeUnavailable],
    [new errors.TimeoutError("x"), EXIT.timeout],
    [new errors.ConflictError("x"), EXIT.conflict],
    [new errors.NotFoundError("x"), EXIT.notFound],
    [new errors.NodeFailedError("n", "x", []), EXIT.nodeFailed],
    [new errors.KubeconfigError("x"), EXIT.kubeconfig],
    [new errors.CancelledError("x"), EXIT.cancelled],
    [new Error("x"), EXIT.error],
  ])("%s → %i", (err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });
});

describe("command line", () => {
  it("prints the version, matching package.json", async () => {
    const s = streams();
    expect(await run(["version"], s.streams, new AbortController().signal)).toBe(0);
    expect(s.text().stdout).toBe(`k3box ${VERSION}\n`);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it("answers usage errors with exit 2 before touching Docker", async () => {
    const s = streams();
    const code = await run(["cluster", "create", "x", "-p", "80@bogus"], s.streams, new AbortController().signal);
    expect(code).toBe(2);
    expect(s.text().stderr).toContain('invalid node filter "bogus"');
  });

  it("rejects unknown options and counts that are not numbers", async () => {
    const s = streams();
    expect(await run(["cluster", "create", "--nope"], s.streams, new AbortController().signal)).toBe(2);
    expect(await run(["cluster", "create", "-a", "two"], s.streams, new AbortController().signal)).toBe(2);
    expect(s.text().stderr).toContain('invalid agent count "two"');
  });

  it("shows examples in every command's help", async () => {
    for (const cmd of [
      ["cluster", "create"], ["cluster", "delete"], ["cluster", "list"], ["cluster", "get"],
      ["cluster", "start"], ["cluster", "stop"], ["cluster", "restart"], ["cluster", "edit"],
      ["node", "create"], ["node", "delete"], ["node", "start"], ["node", "stop"], ["node", "list"], ["node", "get"],
      ["kubeconfig", "get"], ["kubeconfig", "merge"],
    ]) {
      const s = streams();
      expect(await run([...cmd, "--help"], s.streams, new AbortController().signal)).toBe(0);
      expect(s.text().stdout).toContain("Examples:");
    }
  });

  it("node and edit commands refuse bad input with exit 2 before touching Docker", async () => {
    const signal = new AbortController().signal;
    const cases: Array<[string[], string]> = [
      [["node", "create"], "required option '-c, --cluster <name|url>' not specified"],
      [["node", "create", "--cluster", "dev", "--role", "master"], 'invalid role "master"'],
      [["node", "create", "--cluster", "dev", "--k3s-arg", "--disable=traefik@server:0"], "node filters do not apply to node create"],
      [["node", "create", "--cluster", "https://10.0.0.1:6443"], "needs the cluster's --token"],
      [["node", "create", "--cluster", "dev", "--token", "x"], "--token is only for joining a cluster by its URL"],
      [["cluster", "edit", "dev"], "nothing to edit"],
      [["cluster", "stop", "--stop-timeout", "soon"], 'invalid stop timeout "soon"'],
    ];
    for (const [argv, message] of cases) {
      const s = streams();
      expect(await run(argv, s.streams, signal), argv.join(" ")).toBe(2);
      expect(s.text().stderr).toContain(message);
    }
  });
});
