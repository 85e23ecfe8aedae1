/** Running host commands and daemons for the test engines: argument arrays only, never a shell. */
import { spawn } from "node:child_process";
import { constants, readFileSync } from "node:fs";
import { access, open, readdir, readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { run } from "../../e2e/helpers.js";

/** Runs a command that must succeed; the error names the command line and what it printed. */
export async function commandOk(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(cmd, args, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/**
 * Starts a long-running process detached from the test process, output appended to `log`.
 * Detached so that a test runner interrupted by a signal does not kill it half-way: the
 * owner's teardown, or the stale sweep of a later run, stops it in order.
 */
export async function startDaemon(
  cmd: string,
  args: readonly string[],
  log: string,
  env: NodeJS.ProcessEnv = {},
): Promise<number> {
  const out = await open(log, "a", 0o600);
  try {
    const child = spawn(cmd, [...args], { env: { ...process.env, ...env }, stdio: ["ignore", out.fd, out.fd], detached: true });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => resolve(child.pid ?? 0));
    });
    child.unref();
    return pid;
  } finally {
    await out.close();
  }
}

export function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0; it has exited for every purpose here.
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** SIGTERM, then SIGKILL for whatever is still running after `graceMs`. */
export async function stopProcesses(pids: readonly number[], graceMs: number): Promise<void> {
  const live = pids.filter(alive);
  for (const p of live) signal(p, "SIGTERM");
  try {
    await waitFor("processes to exit", () => live.every((p) => !alive(p)), graceMs);
  } catch {
    for (const p of live) signal(p, "SIGKILL");
    await waitFor("killed processes to exit", () => live.every((p) => !alive(p)), 5_000).catch(() => undefined);
  }
}

/** Pids whose command line contains `needle` (used to find conmon and helpers by the state dir they name). */
export async function pidsWithArg(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
      if (argv.some((a) => a.includes(needle))) out.push(pid);
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** The pid and all its descendants, deepest first. */
export async function processTree(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // exited while we looked
    }
  }
  const order: number[] = [];
  const visit = (p: number): void => {
    for (const c of children.get(p) ?? []) visit(c);
    order.push(p);
  };
  visit(root);
  return order;
}

/** Where `cmd` is on PATH (plus the sbin folders root's PATH may lack), or undefined. */
export async function which(cmd: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs.filter(Boolean)) {
    const path = join(dir, cmd);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}
