/**
 * An import whose engine save fails, on the in-memory engine: the nodes' imports start while the
 * engine prepares the save, so a failed save must reach them as a failed input.
 */
import { describe, expect, it } from "vitest";
import { K3boxError } from "../../src/base/errors.js";
import { ImportFailedError } from "../../src/core/images/import-result.js";
import { createCluster } from "../../src/core/operations/create.js";
import { importImages } from "../../src/core/operations/import.js";
import { CLUSTER } from "../support/cluster-world.js";
import { k3sEngine } from "../support/k3s-node.js";

describe("an import whose save the engine fails", () => {
  it("fails every node with the save's error; each node's import, begun meanwhile, got its input cut off", async () => {
    const rt = k3sEngine();
    await createCluster({ ...CLUSTER, agents: 0, ports: [] }, { runtime: rt });
    rt.seedImage("me/app:dev");
    const node = "k3box-dev-server-0";
    const imported: number[] = [];
    rt.onExec(node, ["ctr", "-n", "k8s.io", "images", "ls"], () => ({ stdout: "REF TYPE DIGEST SIZE PLATFORMS LABELS\n" }));
    rt.onExec(node, ["true"], () => ({}));
    rt.onExec(
      node,
      (argv) => argv[0] === "sh" && (argv[2] ?? "").includes("images import"),
      ({ stdin }) => {
        imported.push(stdin?.length ?? -1);
        return { exitCode: 1, stderr: "ctr: unexpected EOF" };
      },
    );
    // The save fails once the engine has begun it, as when the image goes away meanwhile.
    rt.failOn("saveImages", { error: new K3boxError("save images me/app:dev: the image went away") });

    const failed = importImages("dev", ["me/app:dev"], { runtime: rt });
    await expect(failed).rejects.toBeInstanceOf(ImportFailedError);
    const err = (await failed.catch((e: unknown) => e)) as ImportFailedError;
    expect(err.result?.nodes.map((n) => [n.node, n.status, n.error])).toEqual([
      [node, "failed", "save images me/app:dev: the image went away"],
    ]);
    expect(err.cause).toBeInstanceOf(K3boxError);
    // The node's import had started, and it read nothing.
    expect(imported).toEqual([0]);
  });
});
