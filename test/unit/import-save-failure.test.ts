/**
 * An import whose engine save fails, on the in-memory engine: the nodes' imports (or the write
 * into the shared volume) start while the engine prepares the save, so a failed save must reach
 * them as a failed input, however soon it fails.
 */
import { describe, expect, it } from "vitest";
import { K3boxError } from "../../src/base/errors.js";
import { ImportFailedError } from "../../src/core/images/import-result.js";
import { createCluster } from "../../src/core/operations/create.js";
import { importImages } from "../../src/core/operations/import.js";
import { CLUSTER } from "../support/cluster-world.js";
import { k3sEngine } from "../support/k3s-node.js";

describe("an import whose save the engine fails", () => {
  it.each([
    { agents: 0, started: "the node's import" },
    { agents: 1, started: "the write into the shared volume" },
  ])(
    "fails every node with the save's error, with $agents agents; $started, begun meanwhile, read nothing",
    async ({ agents }) => {
      const rt = k3sEngine();
      await createCluster({ ...CLUSTER, agents, ports: [] }, { runtime: rt });
      rt.seedImage("me/app:dev");
      const nodes = /^k3box-dev-(server|agent)-0$/;
      const began: Array<{ what: string; read: number }> = [];
      rt.onExec(nodes, ["ctr", "-n", "k8s.io", "images", "ls"], () => ({ stdout: "REF TYPE DIGEST SIZE PLATFORMS LABELS\n" }));
      rt.onExec(nodes, ["true"], () => ({}));
      rt.onExec(
        nodes,
        (argv) => argv[0] === "sh" && /images import|cat >/.test(argv[2] ?? ""),
        ({ argv, stdin }) => {
          began.push({ what: (argv[2] ?? "").includes("cat >") ? "write" : "import", read: stdin?.length ?? -1 });
          return { exitCode: 1, stderr: "unexpected EOF" };
        },
      );
      rt.onExec(
        nodes,
        (argv) => argv[0] === "rm",
        () => ({}),
      );
      // As when the image goes away between the import's look at it and the save; and before the
      // nodes are ready to read it (their look at the shared volume takes a while).
      rt.failOn("saveImages", { error: new K3boxError("save images me/app:dev: the image went away") });
      rt.onCall("inspectContainer", () => new Promise((r) => setTimeout(r, 30)));

      const failed = importImages("dev", ["me/app:dev"], { runtime: rt });
      await expect(failed).rejects.toBeInstanceOf(ImportFailedError);
      const err = (await failed.catch((e: unknown) => e)) as ImportFailedError;
      expect(err.result?.nodes.map((n) => [n.status, n.error])).toEqual(
        Array.from({ length: agents + 1 }, () => ["failed", "save images me/app:dev: the image went away"]),
      );
      expect(err.cause).toBeInstanceOf(K3boxError);
      expect(began).toEqual([{ what: agents === 0 ? "import" : "write", read: 0 }]);
    },
  );
});
