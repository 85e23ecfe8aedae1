/**
 * What k3box asks a node's containerd through its `ctr` (k3s' namespace k8s.io is ctr's default
 * in k3s nodes, and k3box names it anyway), and how it reads the answers.
 */
export const NAMESPACE = "k8s.io";

const ctr = (...args: string[]): string[] => ["ctr", "-n", NAMESPACE, ...args];

export const listImagesArgv = (): string[] => ctr("images", "ls");
export const contentArgv = (digest: string): string[] => ctr("content", "get", digest);
export const removeImagesArgv = (refs: readonly string[]): string[] => ctr("images", "rm", ...refs);
/**
 * Only the node's platform is imported: a multi-platform archive (as Docker's containerd image
 * store writes) holds the blobs of the platforms present locally, and `--all-platforms` would
 * fail on the others.
 */
export const importArgv = (platform: string): string[] => ctr("images", "import", "--platform", platform, "-");

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** `ctr images ls`: REF TYPE DIGEST SIZE PLATFORMS LABELS; ref → target digest. */
export function parseImageList(text: string): Map<string, string> {
  const images = new Map<string, string>();
  for (const line of text.split("\n").slice(1)) {
    const m = /^(\S+)\s+\S+\s+(sha256:[0-9a-f]{64})\s/.exec(line);
    if (m?.[1] && m[2]) images.set(m[1], m[2]);
  }
  return images;
}

/** The refs `ctr images import` reports as unpacked: `unpacking REF (sha256:…)...done`. */
export function parseImported(output: string): string[] {
  return [...output.matchAll(/^unpacking (\S+) \(sha256:[0-9a-f]{64}\)/gm)].map((m) => m[1] as string);
}

interface Descriptor {
  readonly digest?: string;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
}

/** arm64 images are often labelled without their (only) variant, v8. */
function sameVariant(a: Platform, b: Descriptor["platform"]): boolean {
  const norm = (arch: string | undefined, v: string | undefined) => (v ?? (arch === "arm64" ? "v8" : ""));
  const want = norm(a.architecture, a.variant);
  const have = norm(b?.architecture, b?.variant);
  return want === "" || have === "" || want === have;
}

/**
 * One step from a stored manifest or index towards the image's config: an index names the
 * manifest for the platform (`next`), a manifest names its config.
 */
export function configStep(json: string, platform: Platform): { config: string } | { next: string } | undefined {
  let doc: { config?: Descriptor; manifests?: Descriptor[] };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch {
    return undefined;
  }
  if (doc.config?.digest) return { config: doc.config.digest };
  const m = doc.manifests?.find(
    (d) => d.platform?.os === platform.os && d.platform.architecture === platform.architecture && sameVariant(platform, d.platform),
  );
  return m?.digest ? { next: m.digest } : undefined;
}
