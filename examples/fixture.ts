/**
 * k3box as a test fixture: a cluster for one test suite, its kubeconfig in a
 * temporary file, deleted afterwards whatever happens.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCluster, deleteCluster, type CreateResult } from "../src/index.js";

export interface ClusterFixture extends AsyncDisposable {
  readonly cluster: CreateResult;
  /** A file holding only this cluster's kubeconfig; pass it to kubectl or a client. */
  readonly kubeconfigFile: string;
}

export async function clusterFixture(name: string, image?: string): Promise<ClusterFixture> {
  const dir = await mkdtemp(join(tmpdir(), "k3box-fixture-"));
  const kubeconfigFile = join(dir, "kubeconfig");
  try {
    const cluster = await createCluster({
      name,
      agents: 1,
      ...(image ? { image } : {}),
      // Leave the user's ~/.kube/config alone: the fixture has its own file.
      updateDefaultKubeconfig: false,
      timeout: "3m",
    });
    await writeFile(kubeconfigFile, cluster.kubeconfig, { mode: 0o600 });
    return {
      cluster,
      kubeconfigFile,
      async [Symbol.asyncDispose]() {
        await deleteCluster(name, { ignoreMissing: true, kubeconfigPath: kubeconfigFile });
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
