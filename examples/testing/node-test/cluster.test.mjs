// node:test with a k3box cluster for this file: `node --test examples/testing/node-test/`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startCluster } from "k3box/testing";

let cluster;
before(async () => {
  cluster = await startCluster({ prefix: "node-test-example", ports: ["80@loadbalancer"], image: process.env.K3S_IMAGE });
});
// Runs even when a test failed; if the process dies instead, k3box's reaper removes the cluster.
after(() => cluster?.dispose());

test("a Job runs to completion", async () => {
  await cluster.apply({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "migrate" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "busybox:latest" }] } } },
  });
  const job = await cluster.waitFor("job/migrate", "Complete", { timeout: "1m" });
  assert.equal(job.status.succeeded, 1);
});

test("the ingress answers through the load balancer", async () => {
  const res = await fetch(cluster.url(80));
  assert.equal(res.status, 200);
});
