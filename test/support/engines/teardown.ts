/**
 * Removing a test engine from its record alone, so that the owner's teardown and the sweep of an
 * engine whose owner died share one path. Every step tolerates having been done already.
 */
import Docker from "dockerode";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { removeCgroup, removeNetavarkChains, unmountBelow } from "./host.js";
import { namespacePids, namespaces, removeNamespace } from "./netns.js";
import { alive, pidsWithArg, processTree, signal, stopProcesses } from "./processes.js";
import { engineDirs, removeEngineDir, type EngineRecord, type NetnsDockerRecord, type PodmanRecord } from "./state.js";

async function pidFromFile(path: string): Promise<number> {
  return Number((await readFile(path, "utf8").catch(() => "")).trim()) || 0;
}

/**
 * Force-removes the engine's containers while it still answers: a container whose main process
 * ignores SIGTERM (busybox httpd, a k3s node) would otherwise hold dockerd's shutdown for seconds.
 */
async function removeContainers(socketPath: string): Promise<void> {
  const api = new Docker({ socketPath, timeout: 15_000 });
  try {
    const all = await api.listContainers({ all: true });
    await Promise.all(all.map((c) => api.getContainer(c.Id).remove({ force: true, v: true })));
  } catch {
    // not answering: the cgroup sweep below finds the containers
  }
}

export async function teardownNetnsDocker(r: NetnsDockerRecord): Promise<void> {
  const dockerd = await pidFromFile(join(r.dir, "docker.pid"));
  if (alive(dockerd)) {
    await removeContainers(join(r.dir, "docker.sock"));
    // dockerd stops its containerd on the way out
    await stopProcesses([dockerd], 20_000);
  }
  // sshd and its sessions, the TCP forwarder, and whatever dockerd left: all live in the namespace.
  await stopProcesses(await namespacePids(r.netns), 3_000);
  // Containers have namespaces of their own; their cgroup finds them.
  await removeCgroup(r.cgroupParent);
  await unmountBelow(r.dir);
  await removeNamespace(r.netns);
  await removeEngineDir(r.dir);
}

/** True when a Podman process that is not the one at `dir` runs on this machine. */
async function otherPodman(dir: string): Promise<boolean> {
  for (const pid of [...(await pidsWithArg("podman")), ...(await pidsWithArg("conmon"))]) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    const exe = argv[0] ?? "";
    if (!/(^|\/)(podman|conmon)$/.test(exe)) continue;
    if (!argv.some((a) => a.includes(dir))) return true;
  }
  return false;
}

export async function teardownPodman(r: PodmanRecord): Promise<void> {
  const service = await pidFromFile(join(r.dir, "service.pid"));
  if (alive(service)) await stopProcesses([service], 10_000);
  // conmon outlives the service: one per container, and one per exec session for 5 minutes after it.
  // Its children are the container processes.
  for (const conmon of await pidsWithArg(r.dir)) {
    for (const p of await processTree(conmon)) signal(p, "SIGKILL");
  }
  await stopProcesses(await pidsWithArg(r.dir), 3_000);
  await unmountBelow(r.dir);
  await removeEngineDir(r.dir);
  if (await otherPodman(r.dir)) return;
  // What rootful Podman shares host-wide: its DNS server, iptables chains, run and cache folders.
  await stopProcesses(await pidsWithArg("/run/containers/networks/aardvark-dns"), 3_000);
  await removeNetavarkChains();
  for (const d of r.createdHostDirs) await rm(d, { recursive: true, force: true });
}

export function teardown(r: EngineRecord): Promise<void> {
  return r.kind === "podman" ? teardownPodman(r) : teardownNetnsDocker(r);
}

/** Another test process may be between claiming a namespace or folder and writing its record. */
const UNRECORDED_GRACE_MS = 120_000;

async function olderThanGrace(path: string): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  return s !== undefined && Date.now() - s.mtimeMs > UNRECORDED_GRACE_MS;
}

/**
 * Removes engines whose owning test process is gone, and namespaces or folders without a record
 * (a run that died between creating them and writing its record).
 */
export async function sweepStaleEngines(): Promise<void> {
  const owned = new Set<string>();
  for (const { dir, record } of await engineDirs()) {
    if (record?.kind === "netns-docker") owned.add(record.netns);
    if (record && alive(record.owner)) continue;
    if (record) await teardown(record);
    else if (await olderThanGrace(dir)) {
      await unmountBelow(dir);
      await removeEngineDir(dir);
    }
  }
  for (const ns of await namespaces()) {
    if (owned.has(ns) || !(await olderThanGrace(`/run/netns/${ns}`))) continue;
    await stopProcesses(await namespacePids(ns), 3_000);
    await removeNamespace(ns);
  }
}
