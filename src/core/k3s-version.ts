/**
 * k3s releases: `v1.35.5+k3s1` as k3s prints it, `v1.35.5-k3s1` in an image tag; and which
 * release a node image runs. Each version source is one way of finding out; they are asked in
 * order and the first that knows wins. Never a guess.
 */
import { parseImageReference } from "./cluster-spec/images.js";

export interface K3sVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** As k3s prints it: `v1.35.5+k3s1`. */
  readonly text: string;
}

const VERSION = /\bv?(\d+)\.(\d+)\.(\d+)(?:[+-](k3s\d+))?/;

/** The version in `k3s --version` output; undefined when there is none. */
export function parseK3sVersion(text: string): K3sVersion | undefined {
  const m = VERSION.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { major, minor, patch, text: `v${major}.${minor}.${patch}${m[4] ? `+${m[4]}` : ""}` };
}

/** Whether the Kubernetes in this k3s is at least `major`.`minor`. */
export function atLeast(v: K3sVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

// v1.35.5-k3s1, v1.35.5-rc1-k3s1, and either with a suffix such as -amd64 (rancher/k3s publishes those too).
const TAG = /^(v\d+\.\d+\.\d+)(-rc\d+)?-k3s(\d+)(?:-[\w.-]+)?$/;

/** `v1.35.5+k3s1` from a tag such as `v1.35.5-k3s1` or `v1.35.5-k3s1-amd64`; undefined for any other tag. */
export function versionFromTag(tag: string): string | undefined {
  const m = TAG.exec(tag);
  return m ? `${m[1]}${m[2] ?? ""}+k3s${m[3]}` : undefined;
}

export interface K3sVersionSource {
  /** How the version was found, for people: "image tag". */
  readonly name: string;
  /** The release (`v1.35.5+k3s1`), or undefined when this source cannot tell. */
  read(image: string, signal?: AbortSignal): Promise<string | undefined>;
}

/** A node image's release, with where it was read, or why it is not known. */
export type K3sVersionFinding =
  | { readonly version: string; readonly from: string }
  | { readonly version?: undefined; readonly reason: string };

export const imageTagSource: K3sVersionSource = {
  name: "image tag",
  read: async (image) => {
    const tag = parseImageReference(image)?.tag;
    return tag === undefined ? undefined : versionFromTag(tag);
  },
};

export const DEFAULT_VERSION_SOURCES: readonly K3sVersionSource[] = [imageTagSource];

export async function k3sVersionOf(
  image: string,
  sources: readonly K3sVersionSource[] = DEFAULT_VERSION_SOURCES,
  signal?: AbortSignal,
): Promise<K3sVersionFinding> {
  for (const source of sources) {
    const version = await source.read(image, signal);
    if (version !== undefined) return { version, from: source.name };
  }
  return {
    reason: `the k3s version of image "${image}" cannot be read (asked: ${sources.map((s) => s.name).join(", ")}); tag it with its k3s version, e.g. rancher/k3s:v1.35.5-k3s1`,
  };
}
