// Benchmark: k3box/testing between suites and across runs, on the k3s double (1 server + 1 agent).
//  - reuse: a new test process that asks for a `reuse: true` cluster started earlier, from its
//    spawn until the cluster is ready for the test (target <= 1 s), against a process that has to
//    create it (the first run), and a bare `node` process printing a line in the same run (the
//    machine's own start-up cost, which the target includes);
//  - reset: `reset()` after a suite applied namespaces, Deployments and ConfigMaps, against a
//    fresh fixture (startCluster + dispose) in the same run.
// Runs interleaved; prints medians and ratios. Usage: npm run bench:fixture [-- --runs N]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deleteCluster } from "../dist/index.js";
import { startCluster } from "../dist/testing/index.js";
import { loadBalancerImage } from "./offline.mjs";

const IMAGE = process.env.K3S_DOUBLE_IMAGE ?? "k3box-test/k3s-double:dev";
const REUSE_TARGET_MS = 1000;
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === "--child") {
  // A test process of its own: asks for the fixture, says when it has it, and lets it be.
  const { startCluster: start } = await import("k3box/testing");
  const cluster = await start(JSON.parse(process.argv[3]));
  console.log(JSON.stringify({ name: cluster.name, reused: cluster.reused }));
  await cluster.dispose();
  process.exit(0);
}

const home = mkdtempSync(join(tmpdir(), "k3box-bench-fixture-"));
const env = { ...process.env, HOME: home, KUBECONFIG: join(home, "config") };

/** Spawns a process; ms from spawn until its first line (a test process: until it has the cluster ready). */
function timedProcess(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const proc = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let ms;
    proc.stdout.on("data", (c) => {
      out += c.toString();
      if (ms === undefined && out.includes("\n")) ms = performance.now() - t0;
    });
    proc.stderr.on("data", (c) => {
      err += c.toString();
    });
    proc.on("exit", (code) => {
      if (code !== 0 || ms === undefined) reject(new Error(`${args.join(" ")} exited ${code}: ${err}`));
      else resolve({ ms, ...JSON.parse(out) });
    });
  });
}

const testProcess = (options) => timedProcess([SELF, "--child", JSON.stringify(options)]);
const bareNode = () => timedProcess(["-e", 'console.log("{}")']);

/** What a suite leaves behind: its own namespace with a Deployment and ConfigMaps, and one in default. */
function suiteObjects(i) {
  const ns = `suite-${i}`;
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "busybox:latest" }] } },
      },
    },
    ...[0, 1, 2].map((k) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${k}`, namespace: ns } })),
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `from-suite-${i}` } },
  ];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;
const base = { image: IMAGE, agents: 1, prefix: `bench-${randomBytes(2).toString("hex")}` };
const bare = [];
const reused = [];
const created = [];
const resets = [];
const fresh = [];
loadBalancerImage();
const shared = await startCluster(base);
try {
  // Warm-up: the probe of the node image, the reaper's image, the engine's caches.
  await startCluster(base).then((c) => c.dispose());
  for (let i = 0; i < RUNS; i++) {
    // A new reusable cluster each round (its own name): the first process creates it, the second reuses it.
    const options = { ...base, name: `${base.prefix}-reuse-${i}`, reuse: true };
    try {
      const first = await testProcess(options);
      const second = await testProcess(options);
      if (first.reused || !second.reused || second.name !== first.name) {
        throw new Error(`the second process did not reuse the first one's cluster: ${JSON.stringify([first, second])}`);
      }
      created.push(first.ms);
      reused.push(second.ms);
      bare.push((await bareNode()).ms);
    } finally {
      await deleteCluster(options.name, { ignoreMissing: true, kubeconfigPath: env.KUBECONFIG });
    }

    for (let s = 0; s < 3; s++) await shared.apply(suiteObjects(s));
    await shared.waitFor({ kind: "Deployment", name: "web", namespace: "suite-0" }, "Available");
    let t0 = performance.now();
    await shared.reset();
    resets.push(performance.now() - t0);

    t0 = performance.now();
    await startCluster(base).then((c) => c.dispose());
    fresh.push(performance.now() - t0);
  }
} finally {
  await shared.dispose();
  rmSync(home, { recursive: true, force: true });
}

const b = median(bare);
const r = median(reused);
const c = median(created);
const z = median(resets);
const f = median(fresh);
console.log(`k3box/testing, 1 server + 1 agent, k3s double, ${RUNS} runs each (interleaved)`);
console.log(
  `  reuse: new process to ready cluster  median ${sec(r)} (${(r / c).toFixed(2)}x a process that creates it, ${sec(c)}); target <= ${sec(REUSE_TARGET_MS)}: ${r <= REUSE_TARGET_MS ? "met" : "MISSED"}`,
);
console.log(`  bare node process to first line     median ${sec(b)} (the reuse path adds ${sec(r - b)})`);
console.log(
  `  reset() after 3 suites            median ${sec(z)} (${(z / f).toFixed(2)}x a fresh fixture: start + dispose, ${sec(f)})`,
);
