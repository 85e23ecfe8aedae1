import { type StartedCluster, useCluster } from "k3box/testing";
import { afterAll, beforeAll, expect, inject, it } from "vitest";

let cluster: StartedCluster;
beforeAll(async () => {
  cluster = await useCluster(inject("cluster"));
});
afterAll(async () => {
  // The next file gets the cluster as the global setup made it.
  await cluster?.reset();
  await cluster?.dispose();
});

it("starts a web Deployment and reaches the ingress", async () => {
  // What the other file applied is gone, whichever ran first.
  expect(await cluster.get({ kind: "Namespace", name: "settings" })).toBeUndefined();
  await cluster.apply(`
apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
`);
  const web = await cluster.waitFor({ kind: "Deployment", name: "web", namespace: "web" }, "Available");
  expect(web?.status).toMatchObject({ readyReplicas: 2 });
  expect((await fetch(cluster.url(80))).status).toBe(200);
});
