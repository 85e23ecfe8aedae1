// Benchmark: whole-process start-up of the CLI (dist/cli/main.js, the package's bin) for
// `--version`, `--help` and `cluster list`, against bare `node -e 0` in the same run, the runs
// interleaved so that load on the machine hits every command alike. Prints each median, its
// ratio to bare Node, and the target (<= 150 ms median; bare Node here was ~70 ms when the
// target was set). Usage: npm run bench:startup [-- --runs N]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const TARGET_MS = 150;
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 21;
const home = mkdtempSync(join(tmpdir(), "k3box-bench-startup-"));
const env = { ...process.env, HOME: home, KUBECONFIG: join(home, "config") };

const commands = {
  "node -e 0": ["-e", "0"],
  "k3box --version": [CLI, "--version"],
  "k3box --help": [CLI, "--help"],
  "k3box cluster list": [CLI, "cluster", "list"],
};

function once(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

try {
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  // One warm-up of each, so the file cache holds every file.
  for (const args of Object.values(commands)) once(args);
  for (let i = 0; i < RUNS; i++) for (const [k, args] of Object.entries(commands)) times[k].push(once(args));
  const base = median(times["node -e 0"]);
  console.log(`start-up, median of ${RUNS} runs each:`);
  for (const [k, xs] of Object.entries(times)) {
    const m = median(xs);
    const verdict = k === "node -e 0" ? "" : m <= TARGET_MS ? "  ok" : `  over the ${TARGET_MS} ms target`;
    console.log(`  ${k.padEnd(20)} ${m.toFixed(0).padStart(5)} ms  ${(m / base).toFixed(2)}x bare node${verdict}`);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
