/**
 * Facts about the engine and a node image, probed once per engine and image: the probe runs a
 * container, so its answer is kept in memory and in the user's cache directory.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { Runtime } from "../../runtime/types.js";
import { type Adaptation, type HostFacts, chooseAdaptations } from "./adaptations.js";
import { ADAPTATIONS, type AdaptationName } from "./adaptation-names.js";
import type { K3sVersionSource } from "../k3s-version.js";
import { type NodeImageFacts, probeNodeImage } from "./probe.js";

/** Bumped when the probe learns something new, so older answers are probed again. */
const CACHE_VERSION = 1;

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "k3box", "probes.json");
}

const memory = new Map<string, Promise<NodeImageFacts>>();

export async function hostFacts(runtime: Runtime, image: string, signal: AbortSignal): Promise<HostFacts> {
  const [info, img] = await Promise.all([runtime.info(signal), runtime.inspectImage(image, signal)]);
  const cgroup = info.cgroupVersion !== undefined ? { cgroupVersion: info.cgroupVersion } : {};
  // Without an ID to key on, the answer is not kept.
  if (!img || info.id === "") return { ...cgroup, image: await probeNodeImage(runtime, image, signal) };
  const key = `v${CACHE_VERSION}:${info.id}:${info.version}:${img.id}`;
  let facts = memory.get(key);
  if (facts === undefined) {
    facts = cached(key, () => probeNodeImage(runtime, image, signal));
    memory.set(key, facts);
    facts.catch(() => memory.delete(key));
  }
  return { ...cgroup, image: await facts };
}

async function cached(key: string, probe: () => Promise<NodeImageFacts>): Promise<NodeImageFacts> {
  const file = cacheFile();
  const all = await readFile(file, "utf8")
    .then((t) => JSON.parse(t) as Record<string, NodeImageFacts>)
    .catch(() => ({}) as Record<string, NodeImageFacts>);
  const hit = all[key];
  if (hit !== undefined) return hit;
  const facts = await probe();
  // The cache only saves time: a write that fails is no failure.
  try {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ ...all, [key]: facts }), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    // ignored: see above
  }
  return facts;
}

/**
 * The adaptations nodes of this image need on this engine, except those switched off; nothing is
 * probed when all are. The image must be present.
 */
export async function adaptationsFor(
  runtime: Runtime,
  image: string,
  off: readonly AdaptationName[],
  signal: AbortSignal,
): Promise<Adaptation[]> {
  if (ADAPTATIONS.every((a) => off.includes(a))) return [];
  return chooseAdaptations(await hostFacts(runtime, image, signal), new Set(off));
}

/** `k3s --version` of a node image the engine has (the probe's answer); nothing for one it lacks. */
export function probedVersion(runtime: Runtime): K3sVersionSource {
  return {
    name: "k3s --version in the image",
    read: async (image, signal) => {
      if (!(await runtime.imageExists(image, signal))) return undefined;
      return (await hostFacts(runtime, image, signal ?? new AbortController().signal)).image.k3sVersion?.text;
    },
  };
}
