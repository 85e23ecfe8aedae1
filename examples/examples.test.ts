import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import getPort from "get-port";
import { DOUBLE_IMAGE, Sandbox, dockerJson, leftovers, run } from "../test/e2e/helpers.js";

describe("examples", () => {
  it("ci-cluster.sh: creates, queries and deletes a cluster", async () => {
    const script = new URL("./ci-cluster.sh", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)("bash", [script, DOUBLE_IMAGE]);
    expect(stdout).toMatch(/^ok$/m);
    expect(stdout).toMatch(/node\/k3box-ci-\d+-agent-0/);
    const left = await run("docker", ["ps", "-a", "--format", "{{.Names}}", "--filter", "name=k3box-ci-"]);
    expect(left.stdout.trim()).toBe("");
  });

  it("k3box.yaml: a cluster that comes up with its manifests, its port from $INGRESS_PORT", async () => {
    const sb = await Sandbox.create();
    const name = sb.name("example");
    try {
      const port = await getPort();
      const file = new URL("./k3box.yaml", import.meta.url).pathname;
      const r = await sb.k3box(["cluster", "create", name, "--config", file, "-i", DOUBLE_IMAGE], { INGRESS_PORT: String(port) });
      expect(r.stderr).toContain(`Cluster "${name}" created`);
      expect(r.code).toBe(0);
      const get = async (path: string) => {
        for (let i = 0; i < 60; i++) {
          const res = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", path]);
          if (res.code === 0) return JSON.parse(res.stdout) as Record<string, unknown>;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        throw new Error(`${path} never became readable`);
      };
      expect(await get("/api/v1/namespaces/default/configmaps/app-config")).toMatchObject({ data: { LOG_LEVEL: "info" } });
      expect(await get("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/redis")).toMatchObject({
        spec: { chart: "redis" },
      });
      expect(await get("/api/v1/namespaces/example")).toMatchObject({ metadata: { name: "example" } });
      expect(await get(`/api/v1/nodes/k3box-${name}-agent-0`)).toMatchObject({
        metadata: { labels: { "example.dev/pool": "apps" } },
      });
      const [lb] = await dockerJson<Array<{ HostConfig: { PortBindings: Record<string, Array<{ HostPort: string }>> } }>>([
        "inspect",
        `k3box-${name}-serverlb`,
      ]);
      expect(lb?.HostConfig.PortBindings["80/tcp"]?.[0]?.HostPort).toBe(String(port));
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    } finally {
      await sb.dispose();
    }
    expect(await leftovers(name)).toEqual([]);
  });
});
