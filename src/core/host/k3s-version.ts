/** k3s versions as releases name them: `v1.35.5+k3s1`, or in an image tag `v1.35.5-k3s1`. */

export interface K3sVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** As k3s prints it: `v1.35.5+k3s1`. */
  readonly text: string;
}

const VERSION = /\bv?(\d+)\.(\d+)\.(\d+)(?:[+-](k3s\d+))?/;

/** The version in `k3s --version` output or an image tag; undefined when there is none. */
export function parseK3sVersion(text: string): K3sVersion | undefined {
  const m = VERSION.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { major, minor, patch, text: `v${major}.${minor}.${patch}${m[4] ? `+${m[4]}` : ""}` };
}

/** Whether the Kubernetes in this k3s is at least 1.`minor`. */
export function atLeast(v: K3sVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}
