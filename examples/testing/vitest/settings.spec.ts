import { type StartedCluster, useCluster } from "k3box/testing";
import { afterAll, beforeAll, expect, inject, it } from "vitest";

let cluster: StartedCluster;
beforeAll(async () => {
  cluster = await useCluster(inject("cluster"));
});
afterAll(async () => {
  await cluster?.reset();
  await cluster?.dispose();
});

it("keeps settings in a ConfigMap of its own namespace", async () => {
  expect(cluster.name).toMatch(/^vitest-example-/);
  expect(await cluster.get({ kind: "Namespace", name: "web" })).toBeUndefined();
  await cluster.apply([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "settings" } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app", namespace: "settings" }, data: { LOG_LEVEL: "debug" } },
  ]);
  const cm = await cluster.waitFor({ kind: "ConfigMap", name: "app", namespace: "settings" }, "exists");
  expect(cm?.data).toEqual({ LOG_LEVEL: "debug" });
});
