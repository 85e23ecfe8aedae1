/** Shell completion against the engine: cluster and node names, through the bash script as a shell runs it. */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI, DOUBLE_IMAGE, Sandbox } from "./helpers.js";

/** Runs the bash completion function for a command line, as bash does at <TAB>; `k3box` is the built CLI. */
function bashComplete(line: readonly string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const script = [
    'k3box() { "$K3BOX_NODE" "$K3BOX_CLI" "$@"; }',
    "source <(k3box completion bash)",
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))',
    "_k3box",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      ["-c", script, "bash", ...line],
      { env: { ...process.env, ...env, K3BOX_NODE: process.execPath, K3BOX_CLI: CLI } },
      (err, stdout) => (err ? reject(err) : resolve(stdout.split("\n").filter(Boolean))),
    );
  });
}

describe("completion", () => {
  it("completes cluster and node names from the engine, in bash", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("compl");
      const created = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--no-wait", "--no-lb", "-q"]);
      expect(created.code, created.stderr).toBe(0);
      const prefix = name.slice(0, -2);

      expect(await bashComplete(["k3box", "cluster", "get", prefix], sb.env)).toEqual([name]);
      expect(await bashComplete(["k3box", "cluster", "delete", "--ignore-missing", prefix], sb.env)).toEqual([name]);
      expect(await bashComplete(["k3box", "node", "list", "--cluster", prefix], sb.env)).toEqual([name]);
      expect(await bashComplete(["k3box", "node", "stop", `k3box-${prefix}`], sb.env)).toEqual([`k3box-${name}-server-0`]);
      expect(await bashComplete(["k3box", "kubeconfig", "get", prefix], sb.env)).toEqual([name]);
      expect(await bashComplete(["k3box", "clu"], sb.env)).toEqual(["cluster"]);
      expect(await bashComplete(["k3box", "cluster", "create", "--kubeconfig-sw"], sb.env)).toEqual([
        "--kubeconfig-switch-context",
      ]);
    } finally {
      await sb.dispose();
    }
  });
});
