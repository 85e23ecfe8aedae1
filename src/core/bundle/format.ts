/**
 * What a bundle is: one tar (optionally zstd-compressed) holding everything an offline cluster
 * needs, with a table of contents first. Entries, in this order:
 *
 *   k3box-bundle.json   the contents: what each entry is, its size and sha256
 *   manifests/*.yaml    the user's manifests and the charts' HelmChart resources (chart embedded)
 *   images/nodes.tar    docker save of what k3s runs in the nodes (add-ons, the user's images)
 *   images/engine.tar   docker save of what k3box runs as containers (k3s, load balancer, registry)
 *
 * The small entries come first, so reading them never reads through the images.
 */
import { z } from "zod";
import { UsageError } from "../../base/errors.js";

export const BUNDLE_API_VERSION = "k3box.dev/v1alpha1";
export const BUNDLE_KIND = "Bundle";
export const CONTENTS_ENTRY = "k3box-bundle.json";
export const MANIFESTS_PREFIX = "manifests/";
export const NODE_IMAGES_ENTRY = "images/nodes.tar";
export const ENGINE_IMAGES_ENTRY = "images/engine.tar";

/** A manifest file name: it becomes a file in the servers' auto-deploy directory. */
const MANIFEST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.(ya?ml|json)$/;

const image = z.strictObject({ image: z.string(), for: z.string() });

export const bundleContentsSchema = z.strictObject({
  apiVersion: z.literal(BUNDLE_API_VERSION),
  kind: z.literal(BUNDLE_KIND),
  /** When and by which k3box it was made. */
  created: z.string(),
  k3box: z.string(),
  /** The k3s release of the nodes the bundle was made for, and where its add-on list came from. */
  k3s: z.strictObject({ version: z.string().optional(), from: z.string().optional(), list: z.string().optional() }),
  images: z.strictObject({ engine: z.array(image), nodes: z.array(image) }),
  charts: z.array(
    z.strictObject({
      name: z.string(),
      /** The packaged chart's file name, and its sha256. */
      chart: z.string(),
      sha256: z.string(),
      namespace: z.string().optional(),
      manifest: z.string(),
    }),
  ),
  manifests: z.array(z.strictObject({ entry: z.string().regex(new RegExp(`^${MANIFESTS_PREFIX}`)), from: z.string() })),
  /** Every other entry of the bundle: what load and create check before they use it. */
  entries: z.array(z.strictObject({ path: z.string(), size: z.int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

export type BundleContents = z.infer<typeof bundleContentsSchema>;
export type BundleEntry = BundleContents["entries"][number];

/** Parses and checks the contents entry; a bundle whose table is wrong is refused whole. */
export function parseBundleContents(text: string, label: string): BundleContents {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${label}: ${CONTENTS_ENTRY} is not JSON: ${(err as Error).message}`);
  }
  const parsed = bundleContentsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${label}: ${CONTENTS_ENTRY}: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  const contents = parsed.data;
  const paths = new Set(contents.entries.map((e) => e.path));
  for (const m of contents.manifests) {
    const name = m.entry.slice(MANIFESTS_PREFIX.length);
    if (!MANIFEST_NAME.test(name)) throw new UsageError(`${label}: manifest entry "${m.entry}" is not a manifest file name`);
    if (!paths.has(m.entry)) throw new UsageError(`${label}: manifest "${m.entry}" has no sum in ${CONTENTS_ENTRY}`);
  }
  return contents;
}

/** The file name a bundle manifest entry takes in the auto-deploy directory. */
export function manifestFileName(entry: string): string {
  return entry.slice(MANIFESTS_PREFIX.length);
}
