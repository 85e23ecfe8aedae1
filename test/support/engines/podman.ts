/**
 * Rootful Podman's Docker-compatible API on a unix socket of its own: Debian's podman 4.3 with
 * netavark and aardvark-dns, all state (storage, run root, libpod tmp, networks, events) in a
 * temporary folder through CONTAINERS_CONF and CONTAINERS_STORAGE_CONF, so nothing of a Podman
 * already set up on the machine is read or changed.
 *
 * It runs in this machine's network namespace, as a local Podman would: published ports are on
 * 127.0.0.1, and netavark adds its chains to the host's iptables (removed by stop() when no other
 * Podman is left running).
 */
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { copyImages, renameAsPulled } from "./images.js";
import { startDaemon, waitFor } from "./processes.js";
import { STATE_ROOT, writeRecord, type PodmanRecord } from "./state.js";
import { sweepStaleEngines, teardownPodman } from "./teardown.js";

export interface PodmanOptions {
  /** Copied from the local engine once the service is up, under the names a pull would give. */
  readonly images?: readonly string[];
}

/** Clear of Docker's pools (172.17-31.x, 192.168.x) and of the namespaces' 10.213-215.x. */
const PODMAN_SUBNET_POOL = "10.216.0.0/16";
const PODMAN_DEFAULT_SUBNET = "10.217.0.0/24";
/** Host folders rootful Podman 4.3 (and runc under it) writes whatever its configuration says. */
const HOST_DIRS = ["/run/containers/networks", "/var/lib/containers/cache", "/run/runc"];

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The outermost folder of `path` below /run or /var/lib that does not exist yet. */
async function firstMissing(path: string): Promise<string | undefined> {
  let missing: string | undefined;
  for (let p = path; p !== "/run" && p !== "/var/lib" && p !== "/"; p = dirname(p)) {
    if (await exists(p)) break;
    missing = p;
  }
  return missing;
}

async function hardLimit(name: string): Promise<number> {
  const line = (await readFile("/proc/self/limits", "utf8")).split("\n").find((l) => l.startsWith(name)) ?? "";
  const hard = line.slice(name.length).trim().split(/\s+/)[1] ?? "";
  return hard === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(hard);
}

/**
 * Podman gives a rootful container RLIMIT_NOFILE and RLIMIT_NPROC of 1048576 unless told
 * otherwise; raising a hard limit needs CAP_SYS_RESOURCE, which this machine's bounding set lacks,
 * so every start would fail ("error setting rlimits"). The service itself caps NPROC at
 * kernel.pid_max. These are the most a container here can be given.
 */
async function ulimits(): Promise<string[]> {
  const pidMax = Number((await readFile("/proc/sys/kernel/pid_max", "utf8")).trim());
  const nofile = await hardLimit("Max open files");
  const nproc = Math.min(await hardLimit("Max processes"), pidMax);
  return [`nofile=${nofile}:${nofile}`, `nproc=${nproc}:${nproc}`];
}

function containersConf(dir: string, limits: readonly string[]): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    "[containers]",
    'log_driver = "k8s-file"',
    `default_ulimits = [${limits.map(q).join(", ")}]`,
    "[network]",
    'network_backend = "netavark"',
    `network_config_dir = ${q(join(dir, "networks"))}`,
    `default_subnet = ${q(PODMAN_DEFAULT_SUBNET)}`,
    `default_subnet_pools = [{ base = ${q(PODMAN_SUBNET_POOL)}, size = 24 }]`,
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = ${q(join(dir, "events.log"))}`,
    `tmp_dir = ${q(join(dir, "libpod"))}`,
    // Plain runc: unlike Docker, Podman derives a privileged container's capabilities from its
    // own bounding set, so the missing CAP_SYS_RESOURCE needs no runtime shim.
    'runtime = "runc"',
    "",
  ].join("\n");
}

function storageConf(dir: string): string {
  return [
    "[storage]",
    'driver = "overlay"',
    `graphroot = ${JSON.stringify(join(dir, "root"))}`,
    `runroot = ${JSON.stringify(join(dir, "runroot"))}`,
    "",
  ].join("\n");
}

export class PodmanEngine {
  private stopped?: Promise<void>;

  private constructor(
    private readonly record: PodmanRecord,
    readonly socketPath: string,
  ) {}

  get dir(): string {
    return this.record.dir;
  }

  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  env(): NodeJS.ProcessEnv {
    return { DOCKER_HOST: this.dockerHost };
  }

  docker(): Docker {
    return new Docker({ socketPath: this.socketPath });
  }

  static async start(options: PodmanOptions = {}): Promise<PodmanEngine> {
    await sweepStaleEngines();
    const dir = join(STATE_ROOT, `p-${randomBytes(3).toString("hex")}`);
    const created: string[] = [];
    for (const d of HOST_DIRS) {
      const m = await firstMissing(d);
      if (m) created.push(m);
    }
    const record: PodmanRecord = { kind: "podman", owner: process.pid, dir, createdHostDirs: created };
    await writeRecord(record);
    try {
      const engine = await PodmanEngine.boot(record);
      const refs = options.images ?? [];
      if (refs.length > 0) {
        await copyImages(new Docker(), engine.docker(), refs);
        await renameAsPulled(engine.docker(), refs);
      }
      return engine;
    } catch (err) {
      await teardownPodman(record);
      throw err;
    }
  }

  private static async boot(record: PodmanRecord): Promise<PodmanEngine> {
    const { dir } = record;
    const imageTmp = join(dir, "image-tmp");
    await mkdir(imageTmp, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, "containers.conf"), containersConf(dir, await ulimits()), { mode: 0o600 });
    await writeFile(join(dir, "storage.conf"), storageConf(dir), { mode: 0o600 });
    const socketPath = join(dir, "podman.sock");
    const pid = await startDaemon("podman", ["system", "service", "--time=0", `unix://${socketPath}`], join(dir, "service.log"), {
      CONTAINERS_CONF: join(dir, "containers.conf"),
      CONTAINERS_STORAGE_CONF: join(dir, "storage.conf"),
      // Where image loads are staged (default /var/tmp).
      TMPDIR: imageTmp,
    });
    await writeFile(join(dir, "service.pid"), String(pid), { mode: 0o600 });
    const api = new Docker({ socketPath });
    await waitFor(
      `podman service (log: ${join(dir, "service.log")})`,
      () =>
        api.ping().then(
          () => true,
          () => false,
        ),
      30_000,
    );
    return new PodmanEngine(record, socketPath);
  }

  /**
   * Removes containers and networks through the API first, so that netavark takes down their
   * rules and DNS entries, then stops the service and removes the rest.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      const api = this.docker();
      // Each step may fail (the service gone or broken); the teardown below removes what is left.
      const containers = await api.listContainers({ all: true }).catch(() => []);
      await Promise.all(
        containers.map((c) =>
          api
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined),
        ),
      );
      // The compat API lists Podman's default network ("podman") as "bridge"; it cannot be removed.
      const networks = (await api.listNetworks().catch(() => [])).filter((n) => n.Name !== "bridge" && n.Name !== "podman");
      for (const n of networks)
        await api
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
      await teardownPodman(this.record);
    })();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
