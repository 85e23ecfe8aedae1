import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, leftovers } from "./helpers.js";

describe("cluster create: failure and interruption leave nothing behind", () => {
  it("a node failing at start fails the create, names the node with its log, and rolls back", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("fail");
      const r = await sb.k3box([
        "cluster",
        "create",
        name,
        "-a",
        "1",
        "-i",
        DOUBLE_IMAGE,
        "-e",
        "K3S_DOUBLE_FAIL_AT=kubelet@agent:0",
        "--timeout",
        "2m",
      ]);
      expect(r.code).toBe(7);
      expect(r.stderr).toContain(`k3box-${name}-agent-0`);
      expect(r.stderr).toContain("injected failure at kubelet");
      expect(r.stderr).toContain("last log lines");
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await sb.dispose();
    }
  });

  it("a deadline that passes fails with exit 4, names the node, and rolls back", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("slow");
      const r = await sb.k3box([
        "cluster",
        "create",
        name,
        "-i",
        DOUBLE_IMAGE,
        "-e",
        "K3S_DOUBLE_START_DELAY_MS=60000",
        "--timeout",
        "4s",
      ]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("timed out after 4s");
      expect(r.stderr).toContain(`k3box-${name}-server-0`);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await sb.dispose();
    }
  });

  it("a deadline that passes while Docker is still creating things leaves nothing either", async () => {
    const sb = await Sandbox.create();
    try {
      // Deadlines that fall among the network, volume and container creates, whichever each hits.
      for (const ms of [60, 120, 250, 500]) {
        const name = sb.name(`early${ms}`);
        const r = await sb.k3box(["cluster", "create", name, "-a", "1", "-i", DOUBLE_IMAGE, "--timeout", `${ms}ms`]);
        expect(r.code, r.stderr).toBe(4);
        expect(await leftovers(name), `--timeout ${ms}ms`).toEqual([]);
        // And the name is free again at once.
        const list = await sb.k3box(["cluster", "get", name]);
        expect(list.code).toBe(6);
      }
    } finally {
      await sb.dispose();
    }
  });

  it("SIGINT during create rolls back containers, network, volumes and kubeconfig", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("sigint");
      const child = sb.spawnK3box([
        "cluster",
        "create",
        name,
        "-a",
        "1",
        "-i",
        DOUBLE_IMAGE,
        "-e",
        "K3S_DOUBLE_START_DELAY_MS=60000@agent:0",
      ]);
      let stderr = "";
      child.stderr?.on("data", (b: Buffer) => {
        stderr += b.toString();
        if (stderr.includes(`Started k3box-${name}-server-0`) && !child.killed) child.kill("SIGINT");
      });
      const [code] = (await once(child, "exit")) as [number];
      expect(stderr).toContain("SIGINT received");
      expect(code).toBe(130);
      expect(await leftovers(name)).toEqual([]);
      const list = await sb.k3box(["cluster", "list", "-o", "json"]);
      expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((c) => c.name)).not.toContain(name);
    } finally {
      await sb.dispose();
    }
  });

  it("two creates in parallel both succeed", async () => {
    const sb = await Sandbox.create();
    try {
      const [a, b] = [sb.name("par"), sb.name("par")];
      const results = await Promise.all(
        [a, b].map((n) => sb.k3box(["cluster", "create", n, "-a", "1", "-i", DOUBLE_IMAGE, "--timeout", "3m"])),
      );
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      for (const n of [a, b]) {
        const ready = await sb.kubectl(["--context", `k3box-${n}`, "get", "--raw", "/readyz"]);
        expect(ready.stdout.trim()).toBe("ok");
      }
    } finally {
      await sb.dispose();
    }
  });
});
