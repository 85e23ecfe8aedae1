import { describe, expect, it } from "vitest";
import { LABEL } from "../../src/core/labels.js";
import { planDelete } from "../../src/core/plan/delete.js";
import type { ContainerInfo, NetworkInfo } from "../../src/runtime/types.js";

function container(name: string, labels: Record<string, string>, networks: string[]): ContainerInfo {
  const spec = { name, image: "img", labels, network: networks[0] ?? "bridge" };
  return {
    id: name,
    name,
    image: "img",
    labels,
    state: "exited",
    running: false,
    ports: [],
    networks: Object.fromEntries(networks.map((n) => [n, { ip: "" }])),
    env: {},
    cmd: [],
    mounts: [],
    spec,
  };
}

const registry = (name: string, networks: string[], owner?: string) =>
  container(
    name,
    { [LABEL.managed]: "true", [LABEL.role]: "registry", ...(owner ? { [LABEL.registryOwner]: owner } : {}) },
    networks,
  );

// As the engine lists networks: without their members (only an inspect of a running member shows it).
const network: NetworkInfo = { id: "n", name: "k3box-demo", labels: { [LABEL.cluster]: "demo" }, containers: [] };

describe("planDelete", () => {
  it("lets a shared registry go back to the default bridge before the network goes, even when it is stopped", () => {
    const shared = registry("k3box-shared", ["k3box-demo"]);
    const { actions } = planDelete({
      cluster: "demo",
      containers: [],
      volumes: [],
      networks: [network],
      registries: [shared],
      network: "k3box-demo",
    });
    expect(JSON.stringify(actions)).toContain(
      JSON.stringify({ type: "disconnect-network", network: "k3box-demo", container: "k3box-shared", fallback: "bridge" }),
    );
  });

  it("removes the registry the cluster made unless another network still uses it, which keeps it", () => {
    const own = registry("k3box-own", ["k3box-demo"], "demo");
    const kept = registry("k3box-kept", ["k3box-demo", "k3box-other"], "demo");
    const plan = planDelete({
      cluster: "demo",
      containers: [],
      volumes: [],
      networks: [network],
      registries: [own, kept],
      network: "k3box-demo",
    });
    const text = JSON.stringify(plan.actions);
    expect(text).toContain(JSON.stringify({ type: "remove-container", container: "k3box-own" }));
    expect(text).not.toContain(JSON.stringify({ type: "remove-container", container: "k3box-kept" }));
    expect([...plan.keptRegistries]).toEqual([["k3box-kept", ["k3box-other"]]]);
  });
});
