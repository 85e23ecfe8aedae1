/**
 * Cluster create on the memory engine with a fault at every step: each engine call it makes fails
 * or is met by a Ctrl-C, before the engine's work or after it, and so is each step it reports.
 * Whatever the step, the operation fails with that error, rolls back newest first, and leaves the
 * engine empty and the kubeconfig file as it was.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CancelledError } from "../../src/base/errors.js";
import { K3D, type Dialect } from "../../src/core/dialect.js";
import type { ClusterEvent } from "../../src/core/events.js";
import type { ClusterInput } from "../../src/core/cluster-spec/input.js";
import { createCluster } from "../../src/core/operations/create.js";
import { K3S_KUBECONFIG } from "./k3s-kubeconfig-fixture.js";
import { k3sEngine } from "../support/k3s-node.js";
import {
  FAULTS,
  type Reference,
  type Scenario,
  callName,
  describeFault,
  referenceRun,
  expectCleanRollback,
  sweepFault,
} from "../support/step-sweep.js";
import type { MemoryRuntime } from "../support/memory-runtime/index.js";

const dir = mkdtempSync(join(tmpdir(), "k3box-create-steps-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kubeconfig the user had before: another cluster's entries, which a failed create must leave as they were. */
const USER_KUBECONFIG = K3S_KUBECONFIG.replaceAll("default", "theirs");

let files = 0;
function kubeconfigFile(content: string | undefined): string {
  const path = join(dir, `config-${++files}`);
  if (content !== undefined) writeFileSync(path, content, { mode: 0o600 });
  return path;
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

interface CreateWorld {
  readonly rt: MemoryRuntime;
  readonly kubeconfigPath: string;
}

/** Without waiting: the memory engine serves no API for create to wait for (the waits are tested apart). */
const CLUSTER: ClusterInput = {
  name: "dev",
  agents: 1,
  wait: false,
  apiPort: "127.0.0.1:",
  ports: ["127.0.0.1::80@loadbalancer"],
};

function createScenario(input: ClusterInput, extra: { dialect?: Dialect; pullable?: string } = {}): Scenario<CreateWorld> {
  const { pullable, ...dialect } = extra;
  return {
    setup: async () => {
      const rt = k3sEngine();
      // An image create has to pull: the pull is one of its steps.
      if (pullable !== undefined) rt.seedRegistryImage(pullable);
      return { rt, kubeconfigPath: kubeconfigFile(USER_KUBECONFIG) };
    },
    run: ({ kubeconfigPath }, o) => createCluster(input, { ...o, kubeconfigPath, ...dialect }),
  };
}

const createOwn = createScenario(CLUSTER);
const own = await referenceRun(createOwn);
/** Servers in turn, a registry beside them, k3d's names and its shared image volume. */
const HA: ClusterInput = {
  name: "ha",
  servers: 3,
  agents: 1,
  loadBalancer: false,
  wait: false,
  apiPort: "127.0.0.1:",
  registryCreate: "ha-registry",
};
const createHa = createScenario(HA, { dialect: K3D, pullable: "registry:2" });

/** What the operation makes for the cluster; the probe's container is made and removed within its own step. */
const isCreation = (e: { method: string; names: readonly string[] }) =>
  ["createContainer", "createVolume", "createNetwork"].includes(e.method) && !e.names[0]?.startsWith("k3box-probe-");

/**
 * Every fault at every call of the reference run. A failure at a call the operation retries
 * (`retried`) is no failure of the operation: it then ends as the reference run did.
 */
function sweep(scenario: Scenario<CreateWorld>, reference: Reference<CreateWorld>, retried: string[]) {
  const calls = reference.calls.length;
  for (const fault of FAULTS) {
    const tolerated = fault.kind === "fail" ? retried : [];
    const note = tolerated.length > 0 ? ` (${tolerated.length} retried)` : "";
    it(`${describeFault(fault)} at any of its ${calls} engine calls fails with that error, rolls back newest first, and leaves nothing${note}`, async () => {
      const survived = await sweepFault(scenario, reference, fault, {
        failed: (run, at) => {
          expect.soft(run.s.rt.snapshot(), at).toEqual({ containers: [], networks: [], volumes: [] });
          expect.soft(readIfThere(run.s.kubeconfigPath), at).toBe(USER_KUBECONFIG);
          // Nothing created before the fault (the checks, the probe) leaves nothing to roll back.
          const created = run.journal.some((e) => isCreation(e) && e.applied);
          const rolledBack = run.events.some((e) => e.type === "step-start" && e.step === "rollback");
          if (created) expect.soft(rolledBack, at).toBe(true);
          expectCleanRollback(run, at);
        },
        survived: (run, at) => expect.soft(run.s.rt.snapshot(), at).toEqual(reference.s.rt.snapshot()),
      });
      expect(survived).toEqual(tolerated);
    });
  }
}

describe(`create (1 server, 1 agent, a load balancer; ${own.calls.length} engine calls)`, () => {
  it("succeeds untouched, making these calls", () => {
    expect(own.calls.map(callName)).toEqual([
      "info",
      "listContainers",
      "listVolumes",
      "inspectNetwork k3box-dev",
      "imageExists docker.io/rancher/k3s:v1.35.5-k3s1",
      "info",
      "inspectImage docker.io/rancher/k3s:v1.35.5-k3s1",
      "createContainer k3box-probe-*",
      "startContainer k3box-probe-*",
      "logs k3box-probe-*",
      "inspectContainer k3box-probe-*",
      "removeContainer k3box-probe-*",
      "imageExists docker.io/rancher/k3s:v1.35.5-k3s1",
      "imageExists docker.io/library/nginx:1.30.6-alpine",
      "createNetwork k3box-dev",
      "createVolume k3box-dev-server-0-data",
      "createVolume k3box-dev-agent-0-data",
      "createVolume k3box-dev-images",
      "createContainer k3box-dev-server-0",
      "createContainer k3box-dev-agent-0",
      "createContainer k3box-dev-serverlb",
      "putFiles k3box-dev-server-0",
      "putFiles k3box-dev-agent-0",
      "putFiles k3box-dev-serverlb",
      "startContainer k3box-dev-server-0",
      "startContainer k3box-dev-agent-0",
      "startContainer k3box-dev-serverlb",
      "readFile k3box-dev-server-0",
    ]);
    expect(own.s.rt.snapshot().containers).toEqual(["k3box-dev-agent-0", "k3box-dev-server-0", "k3box-dev-serverlb"]);
  });

  // k3s writes its kubeconfig early in its start: a read that fails is tried again.
  sweep(createOwn, own, ["readFile k3box-dev-server-0"]);
});

const ha = await referenceRun(createHa);

describe(`create in k3d's dialect (3 servers, 1 agent, a registry, no load balancer; ${ha.calls.length} engine calls)`, () => {
  it("succeeds untouched", () => {
    expect(ha.s.rt.snapshot()).toEqual({
      containers: ["ha-registry", "k3d-ha-agent-0", "k3d-ha-server-0", "k3d-ha-server-1", "k3d-ha-server-2"],
      networks: ["k3d-ha"],
      volumes: ["k3d-ha-agent-0-data", "k3d-ha-images", "k3d-ha-server-0-data", "k3d-ha-server-1-data", "k3d-ha-server-2-data"],
    });
  });

  sweep(createHa, ha, ["readFile k3d-ha-server-0"]);
});

/** The steps create reports, in order, each a moment a Ctrl-C can come. */
const steps = own.events.filter(
  (e): e is Extract<ClusterEvent, { type: "step-start" | "step-done" }> => e.type === "step-start" || e.type === "step-done",
);

describe(`create, Ctrl-C at each of the ${steps.length} step starts and ends it reports`, () => {
  it("cancels, rolls back and leaves the engine empty and the kubeconfig file as it was, even once the file was written", async () => {
    for (let i = 0; i < steps.length; i++) {
      const rt = k3sEngine();
      const kubeconfigPath = kubeconfigFile(USER_KUBECONFIG);
      const ac = new AbortController();
      let seen = 0;
      const onEvent = (e: ClusterEvent) => {
        if ((e.type === "step-start" || e.type === "step-done") && seen++ === i) ac.abort();
      };
      const at = `Ctrl-C at ${steps[i]?.type} ${steps[i]?.step}`;
      const error = await createCluster(CLUSTER, { runtime: rt, kubeconfigPath, signal: ac.signal, onEvent }).catch((e) => e);
      expect.soft(error, at).toBeInstanceOf(CancelledError);
      expect(rt.isEmpty(), `${at}: ${JSON.stringify(rt.snapshot())}`).toBe(true);
      expect(readFileSync(kubeconfigPath, "utf8"), at).toBe(USER_KUBECONFIG);
    }
  });

  it("leaves no kubeconfig file where there was none", async () => {
    const rt = k3sEngine();
    const kubeconfigPath = join(dir, "none", "config");
    const ac = new AbortController();
    const onEvent = (e: ClusterEvent) => {
      if (e.type === "step-done" && e.step === "merge-kubeconfig") ac.abort();
    };
    const error = await createCluster(CLUSTER, { runtime: rt, kubeconfigPath, signal: ac.signal, onEvent }).catch((e) => e);
    expect.soft(error).toBeInstanceOf(CancelledError);
    expect(rt.isEmpty()).toBe(true);
    expect(readIfThere(kubeconfigPath)).toBeUndefined();
  });
});
