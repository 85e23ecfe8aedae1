// One k3box cluster for the whole vitest run; test files reach it by name with useCluster().
import { startCluster } from "k3box/testing";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    cluster: string;
  }
}

export default async function setup(project: TestProject) {
  const cluster = await startCluster({
    prefix: "vitest-example",
    agents: 1,
    ports: ["80@loadbalancer"],
    image: process.env.K3S_IMAGE,
  });
  project.provide("cluster", cluster.name);
  return () => cluster.dispose();
}
