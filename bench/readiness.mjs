// Benchmark: what each readiness level costs. Creates 1 server + 2 agents on the k3s double with
// --wait-for api, workloads and addons, interleaved, and prints each median and its ratio to api.
// Usage: npm run bench:readiness [-- --runs N]
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCluster, deleteCluster } from "../dist/index.js";
import { loadBalancerImage } from "./offline.mjs";

const IMAGE = process.env.K3S_DOUBLE_IMAGE ?? "k3box-test/k3s-double:dev";
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const LEVELS = ["api", "workloads", "addons"];
const dir = mkdtempSync(join(tmpdir(), "k3box-bench-"));
const kubeconfigPath = join(dir, "config");

async function createOnce(level) {
  const name = `bench-${randomBytes(3).toString("hex")}`;
  const t0 = performance.now();
  try {
    await createCluster({ name, agents: 2, image: IMAGE, waitFor: level }, { kubeconfigPath });
    return performance.now() - t0;
  } finally {
    await deleteCluster(name, { kubeconfigPath, ignoreMissing: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

loadBalancerImage();
// Warm-up: the probe of the node image, the load balancer image, the engine's caches.
await createOnce("api");
const times = Object.fromEntries(LEVELS.map((l) => [l, []]));
for (let i = 0; i < RUNS; i++) for (const l of LEVELS) times[l].push(await createOnce(l));
rmSync(dir, { recursive: true, force: true });
const base = median(times.api);
console.log(`cluster create --wait-for LEVEL, 1 server + 2 agents, k3s double, ${RUNS} runs each (interleaved)`);
for (const l of LEVELS) {
  const m = median(times[l]);
  console.log(
    `  ${l.padEnd(9)} median ${(m / 1000).toFixed(2)} s  (${(m / base).toFixed(2)}x api, +${((m - base) / 1000).toFixed(2)} s)`,
  );
}
