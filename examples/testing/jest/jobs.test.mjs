import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { useCluster } from "k3box/testing";

let cluster;
beforeAll(async () => {
  cluster = await useCluster(process.env.K3BOX_CLUSTER);
});
afterAll(async () => {
  await cluster?.reset();
  await cluster?.dispose();
});

test("a Job in a namespace of its own completes", async () => {
  expect(cluster.name).toMatch(/^jest-example-/);
  expect(await cluster.get({ kind: "Namespace", name: "web" })).toBeUndefined();
  await cluster.apply([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "jobs" } },
    {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "once", namespace: "jobs" },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "once", image: "busybox:latest" }] } } },
    },
  ]);
  const job = await cluster.waitFor({ kind: "Job", name: "once", namespace: "jobs" }, "Complete");
  expect(job.status.succeeded).toBe(1);
});
