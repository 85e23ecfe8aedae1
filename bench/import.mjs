// Benchmark: getting a locally built ~200 MB image into a 1 server + 2 agent cluster on the k3s
// double, every way side by side, interleaved round by round (the order rotates), medians:
//
//   raw 1        docker save IMG | docker exec -i NODE ctr images import -        (the 1-node floor)
//   raw 3        one docker save teed into that pipeline for all 3 nodes at once   (the 3-node floor)
//   k3d's way    docker save -o into the cluster's shared image volume, then
//                ctr image import FILE in all 3 nodes at once, then rm FILE        (k3d's tools-node mode)
//   eager 1/3    k3box image import IMG (--nodes server:0 / every node)
//   re-import    the same again: every node already has it
//   registry     k3box image import --mode registry IMG: one push to the cluster's registry
//   first pull   then one agent pulls it through its mirror config, as the kubelet would for a pod
//                (on the double: ctr images pull --hosts-dir, as test/e2e/registries.test.ts does)
//
//   + first run  after each import (the registry's: after its first pull), one container started from
//                the image in one node (`ctr run`), timed on its own: k3box imports without unpacking,
//                as k3s does with its own images, so that node unpacks the image there, where the raw
//                pipeline and k3d's way unpacked it in every node during the import
//
//   profile      the parts of one import on their own: the engine's save alone, save through one
//                exec stdin (discarded, and written into the shared volume as k3box does for several
//                nodes), and `ctr images import FILE` (with and without unpacking) in 1 and 3 nodes
//   CPU time     of the whole machine, for k3d's way, eager 3, and k3box's two steps into 3 nodes (the
//                save into the volume, the file imports); those steps' wall times one after the other
//                are the floor of k3box's way, its fastest order measured (bench/README.md)
//
// The cluster has its shared image volume (every cluster's default, as in k3d), so eager into 3 nodes
// writes the stream there once and imports the file in each node; into 1 node it streams through exec stdin.
// Each round builds a fresh image for the registry cases, so every push and pull moves all bytes.
// Every timed case starts after a `sync`: what the case before wrote is on disk, not still being written.
// The CLI runs without NODE_EXTRA_CA_CERTS and NODE_OPTIONS of the caller's environment (see cliEnv).
// Prints each ratio against its target and the load average while it ran. `--with-engine-push`
// adds `docker tag` + `docker push` of the same image to the same registry (the engine's own push,
// which compresses every layer), for comparison. Usage: npm run bench:import [-- --runs N]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCluster, deleteCluster } from "../dist/index.js";
import { loadBalancerImage } from "./offline.mjs";

const NODE_IMAGE = process.env.K3S_DOUBLE_IMAGE ?? "k3box-test/k3s-double:dev";
const IMAGE = "k3box-bench/import-200mb:latest";
const REF = `docker.io/${IMAGE}`;
const CERTS = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d";
const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg("--runs") ?? 5);
const ENGINE_PUSH = process.argv.includes("--with-engine-push");
/** `--cases raw1,eager1`: only these (for working on one path); the default runs them all. */
const ONLY = arg("--cases")?.split(",");

function run(cmd, args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input ? "pipe" : "ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (err += b));
    if (input) child.stdin.end(input);
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${err}`))));
  });
}

async function timed(fn) {
  return (await measured(fn)).ms;
}

const CLK_TCK = Number(await run("getconf", ["CLK_TCK"]));
/** CPU time every core has spent busy since boot, in ms (/proc/stat: all but idle and iowait). */
function busyMs() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLK_TCK;
}

/** Wall time, and the CPU time of the whole machine (every process, every core) while `fn` ran. */
async function measured(fn) {
  const busy = busyMs();
  const t0 = performance.now();
  await fn();
  return { ms: performance.now() - t0, cpu: busyMs() - busy };
}

/**
 * What this environment tells every Node process to do at its start, which the k3box CLI does not
 * need: NODE_EXTRA_CA_CERTS has Node load a CA bundle before any code runs (about 2 MB of resident
 * memory for Debian's). The CLI is measured without them, as `node -e 0` is; the figures say what
 * they add.
 */
const CALLER_NODE = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"].filter((k) => process.env[k] !== undefined);
const cliEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CALLER_NODE.includes(k)));

/** Runs the k3box CLI; returns wall time, the machine's CPU time and peak RSS (VmHWM, polled from /proc while it runs). */
const k3box = (args, env) => nodeProcess([CLI, ...args], env);

/** Runs `node ARGS`; returns wall time, the machine's CPU time and peak RSS (VmHWM, polled from /proc while it runs). */
function nodeProcess(args, env, base = cliEnv) {
  return new Promise((resolve, reject) => {
    const busy = busyMs();
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      env: { ...base, ...env },
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
    const timer = setInterval(poll, 10);
    child.on("exit", (code) => {
      clearInterval(timer);
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, peak, cpu: busyMs() - busy });
      else reject(new Error(`node ${args.join(" ")}: exit ${code}: ${err}`));
    });
  });
}

/**
 * One `docker save` into `ctr images import -` in every node at once: each node's `docker exec -i`
 * reads a named pipe that `tee` fills, and the last node reads tee's stdout.
 */
function rawPipeline(image, nodes, dir) {
  const script = [
    'dir=$1; image=$2; last=$3; shift 3; fifos=""; pids=""; i=0',
    'for n in "$@"; do f="$dir/fifo-$i"; i=$((i+1)); mkfifo "$f"; fifos="$fifos $f"',
    '  docker exec -i "$n" ctr images import - >/dev/null <"$f" & pids="$pids $!"; done',
    'docker save "$image" | tee $fifos | docker exec -i "$last" ctr images import - >/dev/null; status=$?',
    'for p in $pids; do wait "$p" || status=1; done',
    "rm -f $fifos; exit $status",
  ].join("\n");
  return run("sh", ["-c", script, "sh", dir, image, nodes[0], ...nodes.slice(1)]);
}

/** k3d's tools-node mode, at its leanest: save once into the shared volume, import from the file in every node at once. */
async function k3dWay(image, nodes, volumeDir) {
  const file = `bench-${randomBytes(3).toString("hex")}.tar`;
  await run("docker", ["save", "-o", join(volumeDir, file), image]);
  await Promise.all(
    nodes.map((n) => run("docker", ["exec", n, "ctr", "image", "import", "--all-platforms", `/k3d/images/${file}`])),
  );
  await run("docker", ["exec", nodes[0], "rm", "-f", `/k3d/images/${file}`]);
}

/**
 * Flushes what the cases before wrote (an import writes the image twice per node), so that no case
 * pays for the disk's writeback of another: each timed case starts after one.
 */
const settle = () => run("sync", []);

/** Starts one container from the image in `node` and waits for it to end, as a pod's first start would need it. */
const firstRun = async (node, ref = REF) => {
  await settle();
  return timed(() => run("docker", ["exec", node, "ctr", "-n", "k8s.io", "run", "--rm", ref, "k3box-bench-run", "true"]));
};

const removeFrom = async (nodes, ref = REF) => {
  await Promise.all(
    nodes.map((n) => run("docker", ["exec", n, "ctr", "-n", "k8s.io", "images", "rm", "--sync", ref]).catch(() => {})),
  );
  await settle();
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;
const list = (xs) => `[${xs.map((x) => (x / 1000).toFixed(2)).join(", ")}]`;

const build = (tag, salt) =>
  run("docker", ["build", "-q", "-t", tag, "-"], {
    input: `FROM busybox:latest\nRUN echo ${salt} > /salt && head -c 200000000 /dev/urandom > /blob\n`,
  });

loadBalancerImage();
console.log(`building ${IMAGE} (busybox + 200 MB of random bytes)…`);
await build(IMAGE, "base");
const size = JSON.parse(await run("docker", ["image", "inspect", IMAGE]))[0].Size;

const dir = mkdtempSync(join(tmpdir(), "k3box-bench-import-"));
const env = { KUBECONFIG: join(dir, "config"), HOME: dir, XDG_CACHE_HOME: join(dir, "cache") };
const cluster = `bimp-${randomBytes(3).toString("hex")}`;
const nodes = [`k3box-${cluster}-server-0`, `k3box-${cluster}-agent-0`, `k3box-${cluster}-agent-1`];
const registryTags = [];
const loads = [];
await createCluster(
  { name: cluster, agents: 2, image: NODE_IMAGE, registryCreate: `${cluster}-reg` },
  { kubeconfigPath: env.KUBECONFIG },
);
try {
  const volumeDir = (await run("docker", ["volume", "inspect", "-f", "{{.Mountpoint}}", `k3box-${cluster}-images`])).trim();
  const t = { raw1: [], raw3: [], k3d: [], eager1: [], eager3: [], again: [], push: [], pull: [], enginePush: [] };
  // The first container after each import, in the node named there.
  const runs = { raw1: [], k3d: [], eager1: [], eager3: [], pushPull: [] };
  // The profile: each part of one import on its own (see bench/README.md).
  const p = { save: [], exec: [], volume: [], file1: [], file1NoUnpack: [], file3: [], file3NoUnpack: [] };
  // CPU time of the machine (s of one core) for k3d's way, k3box into 3 nodes, and the two steps of k3box's way.
  const cpu = { k3d: [], eager3: [], volume: [], file3NoUnpack: [] };
  // What any CLI run pays before doing anything: Node's own start, and k3box's (`version`).
  const floor = { node: [], nodePeak: [], cli: [], cliPeak: [] };
  // An idle Node process's peak RSS with and without the caller's NODE_* variables (idle for long enough to be polled).
  const idlePeaks = { clean: [], caller: [] };
  const peaks = { eager1: [], eager3: [], again: [], push: [] };
  let registryHost = "";

  // Warm-up, outside the figures: page caches, and the mirror config registry mode adds.
  await k3box(["image", "import", IMAGE, "-c", cluster, "-q"], env);
  if (!ONLY || ONLY.includes("registry")) {
    await k3box(["image", "import", "busybox:latest", "-c", cluster, "--mode", "registry", "-q"], env);
    const registries = JSON.parse(await run(process.execPath, [CLI, "registry", "list", "-o", "json"], { env }));
    registryHost = registries.find((r) => r.owner === cluster)?.names.host;
  }

  /** `ctr images import FILE` in these nodes at once, from a save already in the shared volume. */
  const fileImport = async (nodes, flags) => {
    await removeFrom(nodes);
    return measured(() =>
      Promise.all(nodes.map((n) => run("docker", ["exec", n, "ctr", "images", "import", ...flags, "/k3d/images/profile.tar"]))),
    );
  };
  const cases = {
    start: async () => {
      const n = await nodeProcess(["-e", "0"], env);
      floor.node.push(n.ms);
      floor.nodePeak.push(n.peak);
      if (CALLER_NODE.length > 0) {
        const idle = ["-e", "setTimeout(() => {}, 200)"];
        idlePeaks.clean.push((await nodeProcess(idle, env)).peak);
        idlePeaks.caller.push((await nodeProcess(idle, env, process.env)).peak);
      }
      const r = await k3box(["version"], env);
      floor.cli.push(r.ms);
      floor.cliPeak.push(r.peak);
    },
    profile: async () => {
      await settle();
      p.save.push(await timed(() => run("sh", ["-c", 'docker save "$0" >/dev/null', IMAGE])));
      p.exec.push(
        await timed(() => run("sh", ["-c", 'docker save "$0" | docker exec -i "$1" sh -c "cat >/dev/null"', IMAGE, nodes[0]])),
      );
      // As k3box writes the save into the shared volume for several nodes.
      await settle();
      const volume = await measured(() =>
        run("sh", ["-c", 'docker save "$0" | docker exec -i "$1" sh -c "cat >/k3d/images/profile.tar"', IMAGE, nodes[0]]),
      );
      p.volume.push(volume.ms);
      cpu.volume.push(volume.cpu);
      p.file1.push((await fileImport(nodes.slice(0, 1), [])).ms);
      p.file1NoUnpack.push((await fileImport(nodes.slice(0, 1), ["--no-unpack"])).ms);
      p.file3.push((await fileImport(nodes, [])).ms);
      const file3 = await fileImport(nodes, ["--no-unpack"]);
      p.file3NoUnpack.push(file3.ms);
      cpu.file3NoUnpack.push(file3.cpu);
      await run("docker", ["exec", nodes[0], "rm", "-f", "/k3d/images/profile.tar"]);
    },
    raw1: async () => {
      await removeFrom(nodes);
      t.raw1.push(await timed(() => rawPipeline(IMAGE, nodes.slice(0, 1), dir)));
      runs.raw1.push(await firstRun(nodes[0]));
    },
    raw3: async () => {
      await removeFrom(nodes);
      t.raw3.push(await timed(() => rawPipeline(IMAGE, nodes, dir)));
    },
    k3d: async () => {
      await removeFrom(nodes);
      const k = await measured(() => k3dWay(IMAGE, nodes, volumeDir));
      t.k3d.push(k.ms);
      cpu.k3d.push(k.cpu);
      runs.k3d.push(await firstRun(nodes[2]));
    },
    eager1: async () => {
      await removeFrom(nodes);
      const e = await k3box(["image", "import", IMAGE, "-c", cluster, "--nodes", "server:0", "-q"], env);
      t.eager1.push(e.ms);
      peaks.eager1.push(e.peak);
      runs.eager1.push(await firstRun(nodes[0]));
    },
    eager3: async () => {
      await removeFrom(nodes);
      let e = await k3box(["image", "import", IMAGE, "-c", cluster, "-q"], env);
      t.eager3.push(e.ms);
      cpu.eager3.push(e.cpu);
      peaks.eager3.push(e.peak);
      runs.eager3.push(await firstRun(nodes[2]));
      await settle();
      e = await k3box(["image", "import", IMAGE, "-c", cluster, "-q"], env);
      t.again.push(e.ms);
      peaks.again.push(e.peak);
    },
    registry: async (round) => {
      const tag = `k3box-bench/import-200mb:r${round}-${randomBytes(2).toString("hex")}`;
      registryTags.push(tag);
      await build(tag, tag);
      await settle();
      const e = await k3box(["image", "import", tag, "-c", cluster, "--mode", "registry", "-q"], env);
      t.push.push(e.ms);
      peaks.push.push(e.peak);
      const agent = nodes[2];
      t.pull.push(
        await timed(() => run("docker", ["exec", agent, "ctr", "images", "pull", "--hosts-dir", CERTS, `docker.io/${tag}`])),
      );
      runs.pushPull.push(await firstRun(agent, `docker.io/${tag}`));
      await removeFrom([agent], `docker.io/${tag}`);
      if (ENGINE_PUSH) {
        const target = `${registryHost}/${tag}`;
        await run("docker", ["tag", tag, target]);
        t.enginePush.push(await timed(() => run("docker", ["push", target])));
        await run("docker", ["rmi", target]);
      }
    },
  };
  const order = Object.keys(cases).filter((c) => !ONLY || ONLY.includes(c));
  for (let round = 0; round < RUNS; round++) {
    const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
    for (const name of rotated) {
      loads.push(loadavg()[0]);
      await cases[name](round);
    }
    process.stderr.write(`round ${round + 1}/${RUNS} done (load ${loadavg()[0].toFixed(1)})\n`);
  }

  // A sum of two steps is the median of each round's sum, as every other figure is one round's.
  t.pushPull = t.push.map((ms, i) => ms + t.pull[i]);
  // A case left out with --cases has no samples: its figures and the ratios built on them say so.
  const medians = (samples) =>
    Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length > 0 ? median(v) : Number.NaN]));
  const m = medians(t);
  const pm = medians(p);
  const NOT_RUN = "not run";
  const secs = (ms) => (Number.isFinite(ms) ? sec(ms) : NOT_RUN);
  const mb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(0)} MB` : NOT_RUN);
  const maxOf = (xs) => (xs.length > 0 ? Math.max(...xs) : Number.NaN);
  const peak = maxOf([...peaks.eager1, ...peaks.eager3, ...peaks.again, ...peaks.push]);
  const ok = (pass) => (pass ? "ok" : "MISSED");
  const ratio = (name, value, target) =>
    Number.isFinite(value)
      ? `  ${name.padEnd(34)} ${value.toFixed(2)}x  (target <= ${target}x) ${ok(value <= target)}`
      : `  ${name.padEnd(34)} ${NOT_RUN}`;
  const line = (name, ms, xs) => `  ${name.padEnd(34)} ${secs(ms).padStart(8)}  ${xs.length > 0 ? list(xs) : ""}`.trimEnd();
  console.log(
    `image import, ${mb(size)} image, 1 server + 2 agents on the k3s double, ${RUNS} rounds interleaved (medians); load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)}) on ${cpus().length} cores`,
  );
  if (p.save.length > 0) {
    console.log("profile: the parts of one import");
    console.log(line("docker save > /dev/null", pm.save, p.save));
    console.log(line("docker save | docker exec -i cat", pm.exec, p.exec));
    console.log(line("the same, into the shared volume", pm.volume, p.volume));
    console.log(line("ctr import FILE, 1 node", pm.file1, p.file1));
    console.log(line("ctr import --no-unpack FILE, 1 node", pm.file1NoUnpack, p.file1NoUnpack));
    console.log(line("ctr import FILE, 3 nodes at once", pm.file3, p.file3));
    console.log(line("ctr import --no-unpack FILE, 3 nodes", pm.file3NoUnpack, p.file3NoUnpack));
  }
  if (floor.node.length > 0) {
    console.log(`${line("node -e 0", median(floor.node), floor.node)}  peak RSS ${mb(Math.max(...floor.nodePeak))}`);
    if (idlePeaks.caller.length > 0) {
      console.log(
        `  node, idle 0.2 s: peak RSS ${mb(median(idlePeaks.clean))}, with this environment's ${CALLER_NODE.join(" and ")} ${mb(median(idlePeaks.caller))} (the CLI runs without)`,
      );
    }
    console.log(`${line("k3box version", median(floor.cli), floor.cli)}  peak RSS ${mb(Math.max(...floor.cliPeak))}`);
  }
  console.log(line("raw pipeline, 1 node", m.raw1, t.raw1));
  console.log(line("raw pipeline, 3 nodes at once", m.raw3, t.raw3));
  console.log(line("k3d's way (volume + 3 file imports)", m.k3d, t.k3d));
  console.log(line("k3box eager, 1 node", m.eager1, t.eager1));
  console.log(line("k3box eager, 3 nodes", m.eager3, t.eager3));
  console.log(line("k3box re-import (3 skipped)", m.again, t.again));
  console.log(line("k3box --mode registry (push)", m.push, t.push));
  console.log(line("first pull on one agent", m.pull, t.pull));
  console.log(line("registry push + first pull", m.pushPull, t.pushPull));
  if (ENGINE_PUSH) console.log(line("engine push (docker tag + push)", m.enginePush, t.enginePush));
  // Each import with the first container after it, sample by sample: k3box leaves the unpack to that start.
  const withRun = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((ms, i) => ms + t[k][i])]));
  const mr = medians(withRun);
  console.log("the same, then the first container in one node (ctr run; the first run alone in brackets)");
  const runLine = (name, k) => `${line(name, mr[k], withRun[k])}${runs[k].length > 0 ? `  (${sec(median(runs[k]))})` : ""}`;
  console.log(runLine("raw pipeline, 1 node", "raw1"));
  console.log(runLine("k3d's way, on an agent", "k3d"));
  console.log(runLine("k3box eager, 1 node", "eager1"));
  console.log(runLine("k3box eager, 3 nodes, on an agent", "eager3"));
  console.log(runLine("registry push + pull, on the agent", "pushPull"));
  console.log(ratio("eager 1 node / raw 1 node", m.eager1 / m.raw1, 1.05));
  console.log(ratio("eager 3 nodes / k3d's way", m.eager3 / m.k3d, 0.8));
  console.log(ratio("eager 3 nodes / raw 3 nodes", m.eager3 / m.raw3, 1.1));
  console.log(
    `  ${"re-import".padEnd(34)} ${secs(m.again).padStart(8)}  ${Number.isFinite(m.again) ? `(target <= 0.50 s) ${ok(m.again <= 500)}` : ""}`.trimEnd(),
  );
  // What the re-import costs beyond any CLI run: its look at the cluster and one check per node.
  const version = floor.cli.length > 0 ? median(floor.cli) : Number.NaN;
  console.log(
    `  ${"re-import - k3box version".padEnd(34)} ${secs(m.again - version).padStart(8)}${Number.isFinite(m.again / version) ? `  (${(m.again / version).toFixed(2)}x k3box version)` : ""}`,
  );
  console.log(
    `  ${"peak RSS of the k3box CLI".padEnd(34)} ${mb(peak).padStart(8)}  ${Number.isFinite(peak) ? `(target <= 60 MB) ${ok(peak <= 60e6)}; ` : ""}by case: eager 1 ${mb(maxOf(peaks.eager1))}, eager 3 ${mb(maxOf(peaks.eager3))}, re-import ${mb(maxOf(peaks.again))}, registry ${mb(maxOf(peaks.push))}`,
  );
  const plain = (name, value) => `  ${name.padEnd(34)} ${Number.isFinite(value) ? `${value.toFixed(2)}x` : NOT_RUN}`;
  console.log(plain("registry (push + 1 pull) / eager 3", m.pushPull / m.eager3));
  console.log(plain("registry (push + 1 pull) / eager 1", m.pushPull / m.eager1));
  console.log(plain("with the first container: eager 1 / raw 1", mr.eager1 / mr.raw1));
  console.log(plain("with the first container: eager 3 / k3d", mr.eager3 / mr.k3d));
  console.log(plain("with the first container: registry / eager 3", mr.pushPull / mr.eager3));
  // CPU time shows where k3box's way stands against k3d's way on the cores; its floor is its two
  // steps one after the other, the fastest order measured (bench/README.md).
  const mc = medians(cpu);
  console.log("CPU time of the machine (every process, every core), medians");
  console.log(`  ${"k3d's way / k3box eager, 3 nodes".padEnd(34)} ${secs(mc.k3d)} / ${secs(mc.eager3)}`);
  console.log(
    `  ${"k3box's two steps, 3 nodes".padEnd(34)} ${secs(mc.volume)} the save into the volume + ${secs(mc.file3NoUnpack)} the imports (--no-unpack)`,
  );
  const stepsFloor = pm.volume + pm.file3NoUnpack;
  console.log(
    `  ${"floor of k3box's way, 3 nodes".padEnd(34)} ${secs(stepsFloor).padStart(8)}  the two steps' wall times${Number.isFinite(stepsFloor / m.k3d) ? `: ${(stepsFloor / m.k3d).toFixed(2)}x k3d's way, k3box eager 3 is ${sec(m.eager3 - stepsFloor)} above it` : ""}`,
  );
} finally {
  await deleteCluster(cluster, { kubeconfigPath: env.KUBECONFIG });
  for (const tag of [IMAGE, ...registryTags]) await run("docker", ["rmi", tag]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
