// Benchmark: `k3box image import` of a locally built ~200 MB image into a 1 server + 2 agent
// cluster on the k3s double: into 1 node, into 3 nodes, and again (everything skipped), against
// the raw pipeline `docker save IMG | docker exec -i NODE ctr images import -` run node after
// node. Also the k3box CLI process's peak RSS. Targets: 3 nodes <= 1.1x 1 node; re-import <= 1 s;
// peak RSS <= 100 MB. Usage: npm run bench:import [-- --runs N]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCluster, deleteCluster } from "../dist/index.js";

const NODE_IMAGE = process.env.K3S_DOUBLE_IMAGE ?? "k3box-test/k3s-double:dev";
const IMAGE = "k3box-bench/import-200mb:latest";
const REF = `docker.io/${IMAGE}`;
const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

function run(cmd, args, { input, stdin } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [stdin ?? (input ? "pipe" : "ignore"), "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (err += b));
    if (input) child.stdin.end(input);
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${err}`))));
  });
}

/** Runs the k3box CLI; returns wall time and peak RSS (VmHWM, polled from /proc while it runs). */
function k3box(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (b) => (err += b));
    let peak = 0;
    const poll = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        // exited between polls
      }
    };
    const timer = setInterval(poll, 20);
    child.on("exit", (code) => {
      clearInterval(timer);
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, peak });
      else reject(new Error(`k3box ${args.join(" ")}: exit ${code}: ${err}`));
    });
  });
}

/** docker save IMG | docker exec -i NODE ctr images import -, as two processes joined by a pipe. */
function rawPipeline(node) {
  return new Promise((resolve, reject) => {
    const save = spawn("docker", ["save", IMAGE], { stdio: ["ignore", "pipe", "inherit"] });
    const exec = spawn("docker", ["exec", "-i", node, "ctr", "images", "import", "-"], {
      stdio: [save.stdout, "ignore", "inherit"],
    });
    exec.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`raw import into ${node}: exit ${code}`))));
  });
}

const removeFrom = (nodes) =>
  Promise.all(nodes.map((n) => run("docker", ["exec", n, "ctr", "-n", "k8s.io", "images", "rm", "--sync", REF]).catch(() => {})));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const list = (xs) => `[${xs.map((x) => (x / 1000).toFixed(2)).join(", ")}]`;

console.log(`building ${IMAGE} (busybox + 200 MB of random bytes)…`);
await run("docker", ["build", "-q", "-t", IMAGE, "-"], {
  input: "FROM busybox:latest\nRUN head -c 200000000 /dev/urandom > /blob\n",
});
const size = JSON.parse(await run("docker", ["image", "inspect", IMAGE]))[0].Size;

const dir = mkdtempSync(join(tmpdir(), "k3box-bench-import-"));
const env = { KUBECONFIG: join(dir, "config"), HOME: dir };
const cluster = `bimp-${randomBytes(3).toString("hex")}`;
const nodes = [`k3box-${cluster}-server-0`, `k3box-${cluster}-agent-0`, `k3box-${cluster}-agent-1`];
await createCluster({ name: cluster, agents: 2, image: NODE_IMAGE }, { kubeconfigPath: env.KUBECONFIG });
try {
  const one = [];
  const three = [];
  const again = [];
  const raw1 = [];
  const raw3 = [];
  const peaks = { one: [], three: [], again: [] };
  // Warm-up: the engine's and the nodes' page caches.
  await k3box(["image", "import", IMAGE, "-c", cluster, "-q"], env);
  for (let i = 0; i < RUNS; i++) {
    await removeFrom(nodes);
    let r = await k3box(["image", "import", IMAGE, "-c", cluster, "--nodes", "server:0", "-q"], env);
    one.push(r.ms);
    peaks.one.push(r.peak);
    await removeFrom(nodes);
    r = await k3box(["image", "import", IMAGE, "-c", cluster, "-q"], env);
    three.push(r.ms);
    peaks.three.push(r.peak);
    r = await k3box(["image", "import", IMAGE, "-c", cluster, "-q"], env);
    again.push(r.ms);
    peaks.again.push(r.peak);
    await removeFrom(nodes);
    let t0 = performance.now();
    await rawPipeline(nodes[0]);
    raw1.push(performance.now() - t0);
    await removeFrom(nodes);
    t0 = performance.now();
    for (const n of nodes) await rawPipeline(n);
    raw3.push(performance.now() - t0);
  }
  const mib = (xs) => `${(Math.max(...xs) / 1048576).toFixed(0)}`;
  const peak = Math.max(...peaks.one, ...peaks.three, ...peaks.again);
  const m1 = median(one);
  const m3 = median(three);
  const mr = median(again);
  const b1 = median(raw1);
  const b3 = median(raw3);
  const ok = (pass) => (pass ? "ok" : "MISSED");
  console.log(
    `image import, ${(size / 1e6).toFixed(0)} MB image, 1 server + 2 agents on the k3s double, ${RUNS} runs each (medians)`,
  );
  console.log(`  k3box into 1 node:            ${s(m1)}  ${list(one)}`);
  console.log(`  k3box into 3 nodes:           ${s(m3)}  ${list(three)}`);
  console.log(`  k3box re-import (3 skipped):  ${s(mr)}  ${list(again)}`);
  console.log(`  raw pipeline, 1 node:         ${s(b1)}  ${list(raw1)}`);
  console.log(`  raw pipeline, 3 nodes in turn: ${s(b3)}  ${list(raw3)}`);
  console.log(`  3 nodes / 1 node:             ${(m3 / m1).toFixed(2)}x  (target <= 1.1x) ${ok(m3 / m1 <= 1.1)}`);
  console.log(`  re-import:                    ${s(mr)}  (target <= 1 s) ${ok(mr <= 1000)}`);
  console.log(
    `  peak RSS of the k3box CLI:    ${(peak / 1e6).toFixed(0)} MB  (target <= 100 MB) ${ok(peak <= 100e6)}; MiB by case: 1 node ${mib(peaks.one)}, 3 nodes ${mib(peaks.three)}, re-import ${mib(peaks.again)}`,
  );
  console.log(`  k3box 1 node / raw 1 node:    ${(m1 / b1).toFixed(2)}x`);
  console.log(`  k3box 3 nodes / raw 3 nodes:  ${(m3 / b3).toFixed(2)}x`);
} finally {
  await deleteCluster(cluster, { kubeconfigPath: env.KUBECONFIG });
  await run("docker", ["rmi", IMAGE]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
