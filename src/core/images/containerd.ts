/**
 * What k3box asks a node's containerd through its `ctr` (k3s' namespace k8s.io is ctr's default
 * in k3s nodes, and k3box names it anyway), and how it reads the answers.
 */
export const NAMESPACE = "k8s.io";

const ctr = (...args: string[]): string[] => ["ctr", "-n", NAMESPACE, ...args];

export const listImagesArgv = (): string[] => ctr("images", "ls");
export const contentArgv = (digest: string): string[] => ctr("content", "get", digest);
export const removeImagesArgv = (refs: readonly string[]): string[] => ctr("images", "rm", ...refs);
const labelPairs = (labels: Readonly<Record<string, string>>): string[] => Object.entries(labels).map(([k, v]) => `${k}=${v}`);
export const labelArgv = (ref: string, labels: Readonly<Record<string, string>>): string[] =>
  ctr("images", "label", ref, ...labelPairs(labels));

/**
 * Labels k3box puts on an image it imported and verified: the engine's image ID and the target
 * it was verified for. Import updates only an image's target, not its labels, so the pair holds
 * only while the target is unchanged; content addressing makes it a safe cache of "this target
 * is that image".
 */
export const IMAGE_LABEL = { id: "dev.k3box.image.id", target: "dev.k3box.image.target" } as const;
/** What the import script prints before each ref it read: no JSON or list line starts with `#`. */
const CHECKED_MARK = "#k3box-checked";

/** A ref the import is to check in the same exec: the engine image ID it should be. */
export interface ImportCheck {
  readonly ref: string;
  readonly id: string;
}

/** A ref's target content as the import's exec read it, and whether that exec labelled the ref. */
export interface ReadTarget {
  readonly content: string;
  readonly labelled: boolean;
}

/**
 * Imports a tar, lists the node's images, then reads each ref of `checks`' target, all in one
 * exec: an exec costs a round trip and a process start in the node, where one more ctr call in
 * the same exec costs a third of that (bench/README.md). The list names each ref's target on every
 * containerd, where the import's own report differs (1.x names what it unpacked, 2.x reports
 * transfer progress). Only the node's platform is imported: a multi-platform archive (as Docker's
 * containerd image store writes) holds the blobs of the platforms present locally, and
 * `--all-platforms` would fail on the others. `from` is a file in the node, or `-` for stdin.
 * Every value is an argument, never part of the script.
 *
 * The import stores the image's content and does not unpack it, as k3s does with the images it
 * imports from `agent/images`: the kubelet's container runtime unpacks an image into a snapshot
 * when a container first needs it. So a node that never runs the image never spends the CPU and
 * disk on it, and the node's import of the bench's image takes a fifth to a third less time
 * (bench/README.md).
 *
 * The exec labels a ref only on its own check, as the process goes on in the node when k3box is
 * cancelled or gone: its target is the image ID, or is a manifest naming the ID as a digest (in
 * JSON a `"digest":"…"` with bare quotes is a key and its value, never text inside a string, and
 * only a config can have an image's ID as its digest). k3box still checks the content it prints.
 */
export const importThenCheckArgv = (platform: string, from: string, checks: readonly ImportCheck[]): string[] => [
  "sh",
  "-c",
  // One line (engines log an exec's command line as one), each statement ending in its `;`.
  [
    "ns=$1 platform=$2 from=$3 idkey=$4 targetkey=$5 mark=$6; shift 6;",
    'ctr -n "$ns" images import --no-unpack --platform "$platform" "$from" >/dev/null || exit;',
    'list=$(ctr -n "$ns" images ls) || exit;',
    "printf '%s\\n' \"$list\";",
    'while [ "$#" -ge 2 ]; do',
    "ref=$1 id=$2; shift 2;",
    'target=$(printf \'%s\\n\' "$list" | while read -r name _ digest _; do [ "$name" != "$ref" ] || echo "$digest"; done);',
    "case $target in sha256:*) ;; *) continue ;; esac;",
    'content=$(ctr -n "$ns" content get "$target") || continue;',
    "labelled=no;",
    'case $target/$content in "$id"/* | *"\\"digest\\":\\"$id\\""*) ctr -n "$ns" images label "$ref" "$idkey=$id" "$targetkey=$target" >/dev/null && labelled=yes ;; esac;',
    // A blob need not end in a newline: the mark starts a line of its own.
    'printf \'\\n%s %s %s\\n%s\\n\' "$mark" "$ref" "$labelled" "$content";',
    "done;",
    // A ref the exec could not read is read and checked on its own.
    "exit 0",
  ].join(" "),
  "sh",
  NAMESPACE,
  platform,
  from,
  IMAGE_LABEL.id,
  IMAGE_LABEL.target,
  CHECKED_MARK,
  ...checks.flatMap((c) => [c.ref, c.id]),
];

/** The import script's output: the node's images, and each ref's target as it read it. */
export function parseImportOutput(text: string): { images: Map<string, StoredImage>; checked: Map<string, ReadTarget> } {
  const [list = "", ...sections] = text.split(new RegExp(`^${CHECKED_MARK} `, "m"));
  const checked = new Map<string, ReadTarget>();
  for (const section of sections) {
    const eol = section.indexOf("\n");
    const [ref, labelled] = section.slice(0, eol < 0 ? undefined : eol).split(" ");
    const content = eol < 0 ? "" : section.slice(eol + 1);
    if (ref && content.trim() !== "") checked.set(ref, { content, labelled: labelled === "yes" });
  }
  return { images: parseImageList(list), checked };
}

/** Labels a ref, then prints the content `digest` names (a manifest or index), in one exec. */
export const labelThenContentArgv = (ref: string, labels: Readonly<Record<string, string>>, digest: string): string[] => [
  "sh",
  "-c",
  'ns=$1 digest=$2; shift 2; ctr -n "$ns" images label "$@" >/dev/null && exec ctr -n "$ns" content get "$digest"',
  "sh",
  NAMESPACE,
  digest,
  ref,
  ...labelPairs(labels),
];

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

export interface StoredImage {
  readonly target: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** `ctr images ls`: REF TYPE DIGEST SIZE PLATFORMS LABELS (SIZE holds a space; LABELS is `-` or k=v,k=v). */
export function parseImageList(text: string): Map<string, StoredImage> {
  const images = new Map<string, StoredImage>();
  for (const line of text.split("\n").slice(1)) {
    const m = /^(\S+)\s+\S+\s+(sha256:[0-9a-f]{64})\s.*?(\S+)\s*$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const labels: Record<string, string> = {};
    for (const pair of m[3] === "-" ? [] : (m[3] ?? "").split(",")) {
      const eq = pair.indexOf("=");
      if (eq > 0) labels[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    images.set(m[1], { target: m[2], labels });
  }
  return images;
}

interface Descriptor {
  readonly digest?: string;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
}

/** arm64 images are often labelled without their (only) variant, v8. */
function sameVariant(a: Platform, b: Descriptor["platform"]): boolean {
  const norm = (arch: string | undefined, v: string | undefined) => v ?? (arch === "arm64" ? "v8" : "");
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
    (d) =>
      d.platform?.os === platform.os && d.platform.architecture === platform.architecture && sameVariant(platform, d.platform),
  );
  return m?.digest ? { next: m.digest } : undefined;
}
