/**
 * A cluster survives a restart of the Docker engine. Opt-in: it stops the engine, which kills
 * every other container on it too, so it runs only with K3BOX_TEST_ENGINE_RESTART=1 (as `.ci/run` sets).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import getPort from "get-port";
import { describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, run } from "./helpers.js";
import { ingress, states } from "./lb.js";

const ENABLED = process.env.K3BOX_TEST_ENGINE_RESTART === "1";
const DOCKER_UP = fileURLToPath(new URL("../../../shared/testenv/docker-up", import.meta.url));
const DOCKER_PID = "/var/run/docker.pid";

if (!ENABLED) {
  console.warn("engine-restart: skipped; it restarts the Docker engine, set K3BOX_TEST_ENGINE_RESTART=1 to run it");
}

async function engineRunning(): Promise<boolean> {
  return (await docker(["info", "--format", "{{.ServerVersion}}"])).code === 0;
}

/** Polls until `check` holds; the deadline only bounds a broken run, it asserts nothing about speed. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, limitMs = 240_000): Promise<T> {
  const end = Date.now() + limitMs;
  let last: T | undefined;
  for (;;) {
    last = await check().catch(() => undefined);
    if (last !== undefined) return last;
    if (Date.now() > end) throw new Error(`${what}: not the case after ${limitMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Stops dockerd the way a host shutdown does (SIGTERM), then starts it with the test environment's script. */
async function restartEngine(): Promise<void> {
  const pid = Number((await readFile(DOCKER_PID, "utf8")).trim());
  process.kill(pid, "SIGTERM");
  await eventually(
    "dockerd exited",
    async () => {
      // Gone, or a zombie its parent has not reaped yet: either way it serves nothing any more.
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
      return status === "" || /^State:\s+Z/m.test(status) ? true : undefined;
    },
    120_000,
  );
  const up = await run(DOCKER_UP, []);
  if (up.code !== 0) throw new Error(`docker-up failed: ${up.stderr}`);
}

describe.skipIf(!ENABLED)("Docker engine restart (K3BOX_TEST_ENGINE_RESTART=1)", () => {
  it("brings the cluster back: containers running, API through the load balancer, nodes registered, ingress port", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("engine");
      const port = await getPort();
      const create = await sb.k3box([
        "cluster",
        "create",
        name,
        "-a",
        "1",
        "-i",
        DOUBLE_IMAGE,
        "-p",
        `${port}:80`,
        "--timeout",
        "3m",
      ]);
      expect(create.code, create.stderr).toBe(0);

      try {
        await restartEngine();
      } finally {
        // Whatever happened, leave an engine behind for everything else.
        if (!(await engineRunning())) await run(DOCKER_UP, []);
      }

      await eventually("every container running", async () =>
        Object.values(await states(name)).every((s) => s === "running") ? true : undefined,
      );
      const ready = await eventually("the API ready through the load balancer", async () => {
        const r = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
        return r.stdout.trim() === "ok" ? r.stdout.trim() : undefined;
      });
      expect(ready).toBe("ok");
      const nodes = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/api/v1/nodes"]);
      const names = (JSON.parse(nodes.stdout) as { items: Array<{ metadata: { name: string } }> }).items.map(
        (i) => i.metadata.name,
      );
      expect(names.sort()).toEqual([`k3box-${name}-agent-0`, `k3box-${name}-server-0`]);
      const answered = await eventually("the ingress port answering", () => ingress(port));
      expect(answered).toMatch(new RegExp(`^k3box-${name}-(server|agent)-0$`));
      const list = await sb.k3box(["cluster", "list", "-o", "json"]);
      expect((JSON.parse(list.stdout) as Array<{ name: string; state: string }>).find((c) => c.name === name)?.state).toBe(
        "running",
      );
    } finally {
      await sb.dispose();
    }
  });
});
