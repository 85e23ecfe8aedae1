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

test("a Deployment becomes Available and the ingress answers", async () => {
  expect(await cluster.get({ kind: "Namespace", name: "jobs" })).toBeUndefined();
  await cluster.apply([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } },
      },
    },
  ]);
  await cluster.waitFor({ kind: "Deployment", name: "web", namespace: "web" }, "Available");
  expect((await fetch(cluster.url(80))).status).toBe(200);
});
