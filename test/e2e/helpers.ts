/** Shared pieces of the e2e tests: running the CLI as a user would, unique names, cleanup. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
/** Overridable so that several checkouts can test on one engine without sharing a tag. */
export const DOUBLE_IMAGE = process.env.K3S_DOUBLE_IMAGE ?? "k3box-test/k3s-double:dev";

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A temporary KUBECONFIG and a cluster name, removed afterwards whatever happened. */
export class Sandbox {
  private constructor(
    readonly dir: string,
    readonly kubeconfig: string,
  ) {}
  private readonly clusters = new Set<string>();

  static async create(): Promise<Sandbox> {
    const dir = await mkdtemp(join(tmpdir(), "k3box-e2e-"));
    return new Sandbox(dir, join(dir, "kubeconfig"));
  }

  get env(): NodeJS.ProcessEnv {
    return { KUBECONFIG: this.kubeconfig, HOME: this.dir };
  }

  name(prefix = "e2e"): string {
    const n = uniqueName(prefix);
    this.clusters.add(n);
    return n;
  }

  k3box(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return run(process.execPath, [CLI, ...args], { ...this.env, ...env });
  }

  spawnK3box(args: readonly string[]): ChildProcess {
    return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...this.env }, stdio: "pipe" });
  }

  kubectl(args: readonly string[]): Promise<RunResult> {
    return run("kubectl", args, this.env);
  }

  async dispose(): Promise<void> {
    for (const c of this.clusters) await this.k3box(["cluster", "delete", c, "--ignore-missing", "-q"]);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** `docker save` output, whole: for tests that cut, compress or feed an archive themselves. */
export async function dockerSave(ref: string): Promise<Buffer> {
  const child = spawn("docker", ["save", ref], { stdio: ["ignore", "pipe", "inherit"] });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  const [code] = (await once(child, "exit")) as [number];
  if (code !== 0) throw new Error(`docker save ${ref} failed`);
  return Buffer.concat(chunks);
}

export async function docker(args: readonly string[]): Promise<RunResult> {
  return run("docker", args);
}

/**
 * The execs created in a cluster's containers between two times (unix seconds or RFC 3339), as
 * "CONTAINER COMMAND" lines from the engine's events: what an operation ran in the nodes.
 */
export async function clusterExecs(
  cluster: string,
  since: string,
  until: number = Math.ceil(Date.now() / 1000) + 1,
): Promise<string[]> {
  const filters = ["--filter", "event=exec_create", "--filter", `label=dev.k3box.cluster=${cluster}`];
  const args = [
    "events",
    "--since",
    since,
    "--until",
    String(until),
    ...filters,
    "--format",
    "{{.Actor.Attributes.name}} {{.Action}}",
  ];
  const r = await docker(args);
  if (r.code !== 0) throw new Error(`docker events: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}

export async function dockerJson<T>(args: readonly string[]): Promise<T> {
  const r = await docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Names of containers, volumes and networks still labelled for a cluster. */
export async function leftovers(cluster: string): Promise<string[]> {
  const filter = `label=dev.k3box.cluster=${cluster}`;
  const [c, v, n] = await Promise.all([
    docker(["ps", "-a", "-q", "--filter", filter]),
    docker(["volume", "ls", "-q", "--filter", filter]),
    docker(["network", "ls", "-q", "--filter", filter]),
  ]);
  const byName = await Promise.all([
    docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=k3box-${cluster}-`]),
    docker(["network", "ls", "--format", "{{.Name}}", "--filter", `name=k3box-${cluster}`]),
  ]);
  return [c.stdout, v.stdout, n.stdout, ...byName.map((r) => r.stdout)]
    .flatMap((s) => s.split("\n"))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Calls `fn` once a second until it returns a value; a minute without one fails, naming `what`. */
export async function poll<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 60; i++) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`gave up waiting for ${what}`);
}
