/**
 * Which k3s release a node image runs. Each source is one way of finding out; they are asked in
 * order and the first that knows wins. Today that is the image's tag (rancher/k3s tags are the
 * version with `-` for `+`); a source that asks the image itself (a label, `k3s --version`) can
 * be put in front of it.
 */
import { parseImageReference } from "../cluster-spec/images.js";

export interface K3sVersionSource {
  /** How the version was found, for people: "image tag". */
  readonly name: string;
  /** The release (`v1.35.5+k3s1`), or undefined when this source cannot tell. */
  read(image: string, signal?: AbortSignal): Promise<string | undefined>;
}

export type K3sVersion =
  | { readonly version: string; readonly from: string }
  | { readonly version?: undefined; readonly reason: string };

// v1.35.5-k3s1, v1.35.5-rc1-k3s1, and either with a suffix such as -amd64 (rancher/k3s publishes those too).
const TAG = /^(v\d+\.\d+\.\d+)(-rc\d+)?-k3s(\d+)(?:-[\w.-]+)?$/;

/** `v1.35.5+k3s1` from a tag such as `v1.35.5-k3s1` or `v1.35.5-k3s1-amd64`; undefined for any other tag. */
export function versionFromTag(tag: string): string | undefined {
  const m = TAG.exec(tag);
  return m ? `${m[1]}${m[2] ?? ""}+k3s${m[3]}` : undefined;
}

export const imageTagSource: K3sVersionSource = {
  name: "image tag",
  read: async (image) => {
    const tag = parseImageReference(image)?.tag;
    return tag === undefined ? undefined : versionFromTag(tag);
  },
};

export const DEFAULT_VERSION_SOURCES: readonly K3sVersionSource[] = [imageTagSource];

/** The k3s release of a node image, or why it is not known: never a guess. */
export async function k3sVersionOf(
  image: string,
  sources: readonly K3sVersionSource[] = DEFAULT_VERSION_SOURCES,
  signal?: AbortSignal,
): Promise<K3sVersion> {
  for (const source of sources) {
    const version = await source.read(image, signal);
    if (version !== undefined) return { version, from: source.name };
  }
  return {
    reason: `the k3s version of image "${image}" cannot be read (asked: ${sources.map((s) => s.name).join(", ")}); tag it with its k3s version, e.g. rancher/k3s:v1.35.5-k3s1`,
  };
}
