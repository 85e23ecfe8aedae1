// One k3box cluster for the whole jest run. Test files run in workers: they find it by name.
import { startCluster } from "k3box/testing";

export default async function globalSetup() {
  const cluster = await startCluster({ prefix: "jest-example", ports: ["80@loadbalancer"], image: process.env.K3S_IMAGE });
  process.env.K3BOX_CLUSTER = cluster.name;
  // globalTeardown runs in this same context.
  globalThis.k3boxCluster = cluster;
}
