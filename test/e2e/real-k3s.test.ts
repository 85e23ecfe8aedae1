/**
 * The same create/use/delete path on the real rancher/k3s image. Runs where that
 * image is present or can be pulled; elsewhere it is skipped, saying why.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_K3S_IMAGE } from "../../src/core/spec/defaults.js";
import { Sandbox, docker, leftovers } from "./helpers.js";

const present = (await docker(["image", "inspect", DEFAULT_K3S_IMAGE])).code === 0;
const pulled = present || (await docker(["pull", "-q", DEFAULT_K3S_IMAGE])).code === 0;
const reason = `${DEFAULT_K3S_IMAGE} is not present and cannot be pulled here`;

describe.skipIf(!pulled)(`real k3s (${pulled ? DEFAULT_K3S_IMAGE : `skipped: ${reason}`})`, () => {
  it("creates 1 server + 1 agent, answers kubectl, deletes without a trace", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("real");
      const r = await sb.k3box(["cluster", "create", name, "-a", "1", "--timeout", "5m"]);
      expect(r.code, r.stderr).toBe(0);
      const ready = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
      expect(ready.stdout.trim()).toBe("ok");
      const nodes = await sb.kubectl(["--context", `k3box-${name}`, "get", "nodes", "-o", "name"]);
      expect(nodes.stdout.trim().split("\n")).toHaveLength(2);
      expect((await sb.k3box(["cluster", "delete", name])).code).toBe(0);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await sb.dispose();
    }
  });

  it("imports an image, runs a pod that resolves host.k3box.internal, and comes back after stop/start", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("real-life");
      const ctx = ["--context", `k3box-${name}`];
      const r = await sb.k3box(["cluster", "create", name, "-a", "1", "--timeout", "5m"]);
      expect(r.code, r.stderr).toBe(0);
      const imported = await sb.k3box(["image", "import", "busybox:latest", "-c", name]);
      expect(imported.code, imported.stderr).toBe(0);
      // Through coredns' NodeHosts, which the node entrypoint fills in.
      const run = await sb.kubectl([
        ...ctx,
        "run",
        "probe",
        "--image=busybox:latest",
        "--image-pull-policy=Never",
        "--restart=Never",
        "--command",
        "--",
        "nslookup",
        "host.k3box.internal",
      ]);
      expect(run.code, run.stderr).toBe(0);
      const done = await sb.kubectl([...ctx, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/probe", "--timeout=180s"]);
      expect(done.code, done.stderr).toBe(0);
      expect((await sb.k3box(["cluster", "stop", name])).code).toBe(0);
      const started = await sb.k3box(["cluster", "start", name, "--timeout", "5m"]);
      expect(started.code, started.stderr).toBe(0);
      const ready = await sb.kubectl([...ctx, "get", "--raw", "/readyz"]);
      expect(ready.stdout.trim()).toBe("ok");
      expect((await sb.k3box(["cluster", "delete", name])).code).toBe(0);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await sb.dispose();
    }
  });
});
