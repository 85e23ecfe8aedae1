import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, leftovers, run, uniqueName } from "../test/e2e/helpers.js";
import { clusterFixture } from "./fixture.js";

describe("examples", () => {
  it("fixture.ts: a cluster for a test, reachable with its own kubeconfig, gone afterwards", async () => {
    const name = uniqueName("fixture");
    {
      const fixture = await clusterFixture(name, DOUBLE_IMAGE);
      try {
        expect(fixture.cluster.nodes).toContain(`k3box-${name}-agent-0`);
        const ready = await run("kubectl", ["--kubeconfig", fixture.kubeconfigFile, "get", "--raw", "/readyz"]);
        expect(ready.stdout.trim()).toBe("ok");
      } finally {
        await fixture[Symbol.asyncDispose]();
      }
    }
    expect(await leftovers(name)).toEqual([]);
  });

  it("ci-cluster.sh: creates, queries and deletes a cluster", async () => {
    const script = new URL("./ci-cluster.sh", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)("bash", [script, DOUBLE_IMAGE]);
    expect(stdout).toMatch(/^ok$/m);
    expect(stdout).toMatch(/node\/k3box-ci-\d+-agent-0/);
    const left = await run("docker", ["ps", "-a", "--format", "{{.Names}}", "--filter", "name=k3box-ci-"]);
    expect(left.stdout.trim()).toBe("");
  });
});
