/** Host state the test engines leave behind when they die: mounts, cgroups, netavark's iptables chains. */
import { readdir, readFile, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../../e2e/helpers.js";
import { commandOk, signal, stopProcesses } from "./processes.js";

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Lazily unmounts every mount at or below `dir`, deepest first (overlay roots, netns and shm binds). */
export async function unmountBelow(dir: string): Promise<void> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const points = info
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    .map(unescapeMountPath)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await run("umount", ["-l", p]);
}

/** The cgroup folders named `name` directly under each hierarchy (cgroup v1 controllers or the v2 root). */
async function cgroupDirs(name: string): Promise<string[]> {
  const root = "/sys/fs/cgroup";
  const candidates = [join(root, name)];
  for (const entry of await readdir(root).catch(() => [] as string[])) candidates.push(join(root, entry, name));
  const found: string[] = [];
  for (const c of [...new Set(candidates)]) {
    if ((await stat(c).catch(() => undefined))?.isDirectory()) found.push(c);
  }
  return found;
}

async function subdirsDeepestFirst(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await subdirsDeepestFirst(join(dir, e.name))));
  }
  out.push(dir);
  return out;
}

/** Kills every process in the cgroup subtree `name` and removes its folders. */
export async function removeCgroup(name: string): Promise<void> {
  for (const top of await cgroupDirs(name)) {
    const dirs = await subdirsDeepestFirst(top);
    const pids = new Set<number>();
    for (const d of dirs) {
      for (const line of (await readFile(join(d, "cgroup.procs"), "utf8").catch(() => "")).split("\n")) {
        if (line.trim()) pids.add(Number(line));
      }
    }
    for (const p of pids) signal(p, "SIGKILL");
    await stopProcesses([...pids], 5_000);
    for (const d of dirs) await rmdir(d).catch(() => undefined);
  }
}

const BUILTIN_CHAINS = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/**
 * Removes the chains rootful Podman's netavark adds to the host's filter and nat tables, and the
 * jumps to them. netavark removes per-container rules itself but keeps its base chains for good.
 */
export async function removeNetavarkChains(): Promise<void> {
  for (const table of ["filter", "nat"]) {
    const all = (await commandOk("iptables", ["-t", table, "-S"])).split("\n");
    const chains = all.map((l) => /^-N (NETAVARK\S*)$/.exec(l)?.[1]).filter((c): c is string => c !== undefined);
    if (chains.length === 0) continue;
    for (const builtin of BUILTIN_CHAINS) {
      const r = await run("iptables", ["-t", table, "-S", builtin]);
      if (r.code !== 0) continue;
      const rules = r.stdout.split("\n").filter((l) => l.startsWith("-A "));
      const numbers = rules.map((l, i) => (/ -j NETAVARK/.test(l) ? i + 1 : 0)).filter((n) => n > 0);
      for (const n of numbers.reverse()) await commandOk("iptables", ["-t", table, "-D", builtin, String(n)]);
    }
    for (const c of chains) await commandOk("iptables", ["-t", table, "-F", c]);
    for (const c of chains) await commandOk("iptables", ["-t", table, "-X", c]);
  }
}

/** Host iptables lines that mention netavark, for checks that nothing was left behind. */
export async function netavarkRules(): Promise<string[]> {
  const out: string[] = [];
  for (const table of ["filter", "nat"]) {
    out.push(...(await commandOk("iptables", ["-t", table, "-S"])).split("\n").filter((l) => /netavark/i.test(l)));
  }
  return out;
}
