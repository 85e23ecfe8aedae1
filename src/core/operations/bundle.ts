/**
 * Air-gapped clusters: which images a cluster runs (`images list`), a bundle of them with the
 * cluster's charts and manifests (`bundle create`, online), and loading a bundle into an offline
 * engine (`bundle load`). `cluster create --bundle` (operations/create.ts) does the rest.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UsageError } from "../../base/errors.js";
import type { Runtime } from "../../runtime/types.js";
import { clusterImages, type ClusterImage, type ClusterImages } from "../airgap/cluster-images.js";
import { imageTagSource, type K3sVersionSource } from "../k3s-version.js";
import { probedVersion } from "../host/facts.js";
import {
  BUNDLE_API_VERSION,
  BUNDLE_KIND,
  ENGINE_IMAGES_ENTRY,
  MANIFESTS_PREFIX,
  NODE_IMAGES_ENTRY,
  type BundleContents,
} from "../bundle/format.js";
import { openBundleEntry, readBundle, Sha256Tap, verifyBundle } from "../bundle/read.js";
import { bundleCompression, writeBundle, type BundlePart } from "../bundle/write.js";
import { buildClusterSpec } from "../cluster-spec/build.js";
import { chartManifestName } from "../cluster-spec/charts.js";
import type { BuildOptions, ClusterInput } from "../cluster-spec/input.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { step } from "../events.js";
import { execute } from "../executor.js";
import { parseImageReference } from "../images/reference.js";
import { runOperation, type OperationOptions } from "../operation.js";
import { parallel } from "../plan/actions.js";
import { VERSION } from "../version.js";

export interface ClusterImagesOptions {
  readonly build?: BuildOptions;
  /** More images the nodes run (the user's apps). */
  readonly extraImages?: readonly string[];
  /** How to find the nodes' k3s release; default: from the image tag. */
  readonly versionSources?: readonly K3sVersionSource[];
  readonly signal?: AbortSignal;
}

/** Every image the cluster `input` describes will run, and where; creates nothing and needs no engine. */
export async function listClusterImages(input: ClusterInput, options: ClusterImagesOptions = {}): Promise<ClusterImages> {
  const spec = await buildClusterSpec(input, options.build);
  for (const image of options.extraImages ?? []) parseImageReference(image);
  return clusterImages(spec, options);
}

export interface CreateBundleOptions extends OperationOptions, Omit<ClusterImagesOptions, "signal"> {
  /** The bundle file: `.tar`, or `.tar.zst` for zstd. */
  readonly output: string;
}

export interface BundleResult {
  readonly path: string;
  readonly k3s: BundleContents["k3s"];
  readonly images: BundleContents["images"];
  readonly charts: readonly string[];
  readonly manifests: readonly string[];
  /** Entries and their sizes, as the bundle's table of contents lists them. */
  readonly entries: BundleContents["entries"];
}

/**
 * Writes a bundle with everything the cluster `input` describes needs offline: the images (pulled
 * when missing), the charts and the manifests. The images are streamed from the engine into a
 * temporary directory (a tar entry needs its size up front), then into the bundle; nothing is held
 * in memory whole. A failure leaves no bundle file behind.
 */
export async function createBundle(input: ClusterInput, options: CreateBundleOptions): Promise<BundleResult> {
  bundleCompression(options.output);
  const spec = await buildClusterSpec(input, options.build);
  const repoCharts = spec.charts.filter((c) => !("content" in c.chart)).map((c) => c.name);
  if (repoCharts.length > 0) {
    throw new UsageError(
      `chart ${repoCharts.join(", ")} comes from a repository: a bundle carries packaged charts (.tgz; helm pull makes one)`,
    );
  }
  for (const image of options.extraImages ?? []) parseImageReference(image);
  return runOperation(`creating bundle ${options.output}`, options, async (op) => {
    const { runtime, onEvent, signal } = op;
    // A tag in rancher/k3s's scheme names the release; an image tagged otherwise is asked itself.
    const versionSources = options.versionSources ?? [imageTagSource, probedVersion(runtime)];
    const listed = await step(onEvent, "list-images", () => clusterImages(spec, { ...options, versionSources, signal }));
    if (listed.warnings.length > 0) throw new UsageError(`a bundle must hold every image: ${listed.warnings.join("; ")}`);
    await execute(parallel(listed.images.map((i) => ({ type: "ensure-image" as const, image: i.image }))), op);

    const spool = await mkdtemp(join(tmpdir(), "k3box-bundle-"));
    try {
      const nodes = listed.images.filter((i) => i.place === "nodes");
      const engine = listed.images.filter((i) => i.place === "engine");
      const manifests = deployedManifests(spec);
      const parts: BundlePart[] = manifests.map((m) => m.part);
      for (const [entry, images] of [
        [NODE_IMAGES_ENTRY, nodes],
        [ENGINE_IMAGES_ENTRY, engine],
      ] as const) {
        if (images.length === 0) continue;
        parts.push(
          await step(onEvent, "save-images", () => saveToFile(runtime, images, join(spool, basename(entry)), entry, signal)),
        );
      }
      const contents: BundleContents = {
        apiVersion: BUNDLE_API_VERSION,
        kind: BUNDLE_KIND,
        created: new Date().toISOString(),
        k3box: VERSION,
        k3s: {
          ...(listed.k3s.version !== undefined ? { version: listed.k3s.version } : {}),
          ...(listed.k3s.from !== undefined ? { from: listed.k3s.from } : {}),
          ...(listed.k3s.list ? { list: `${listed.k3s.list.kind}: ${listed.k3s.list.source}` } : {}),
        },
        images: { engine: engine.map(view), nodes: nodes.map(view) },
        charts: spec.charts.flatMap((c) =>
          "content" in c.chart
            ? [
                {
                  name: c.name,
                  chart: basename(c.chart.file),
                  sha256: sha256(c.chart.content),
                  ...(c.namespace !== undefined ? { namespace: c.namespace } : {}),
                  manifest: `${MANIFESTS_PREFIX}${chartManifestName(c.name)}`,
                },
              ]
            : [],
        ),
        manifests: manifests.map((m) => ({ entry: m.part.path, from: m.from })),
        entries: parts.map((p) => ({ path: p.path, size: p.size, sha256: p.sha256 })),
      };
      await step(onEvent, "write-bundle", () => writeBundle(options.output, contents, parts, signal));
      return {
        path: options.output,
        k3s: contents.k3s,
        images: contents.images,
        charts: contents.charts.map((c) => c.name),
        manifests: contents.manifests.map((m) => m.entry),
        entries: contents.entries,
      };
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });
}

function view(i: ClusterImage): { image: string; for: string } {
  return { image: i.image, for: i.for };
}

function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** The manifests and the charts' HelmChart resources the servers get, one entry each, and where each came from. */
function deployedManifests(spec: ClusterSpec): { part: BundlePart; from: string }[] {
  return spec.files
    .filter((f) => f.origin !== undefined)
    .map((f) => {
      const content = Buffer.from(f.content);
      const part = {
        path: `${MANIFESTS_PREFIX}${basename(f.destination)}`,
        size: content.length,
        sha256: sha256(content),
        open: () => Readable.from([content]),
      };
      return { part, from: f.raw };
    });
}

/** One `docker save` of the images into a file, its size and sum taken on the way. */
async function saveToFile(
  runtime: Runtime,
  images: readonly ClusterImage[],
  file: string,
  entry: string,
  signal: AbortSignal,
): Promise<BundlePart> {
  const tap = new Sha256Tap();
  await pipeline(
    await runtime.saveImages(
      images.map((i) => i.image),
      signal,
    ),
    tap,
    createWriteStream(file),
    { signal },
  );
  return { path: entry, ...tap.sum(), open: () => createReadStream(file) };
}

export interface LoadBundleOptions extends OperationOptions {}

export interface LoadBundleResult {
  readonly path: string;
  readonly k3s: BundleContents["k3s"];
  /** The image names the engine loaded. */
  readonly loaded: readonly string[];
}

/**
 * Checks every entry of the bundle against its sum, then loads its images into the engine.
 * A damaged bundle is refused before anything is loaded.
 */
export async function loadBundle(path: string, options: LoadBundleOptions = {}): Promise<LoadBundleResult> {
  return runOperation(`loading bundle ${path}`, options, async ({ runtime, onEvent, signal }) => {
    const bundle = await step(onEvent, "read-bundle", () => readBundle(path, signal));
    await step(onEvent, "verify-bundle", () => verifyBundle(bundle, () => {}, signal));
    const loaded: string[] = [];
    for (const entry of bundle.contents.entries.filter((e) => e.path === ENGINE_IMAGES_ENTRY || e.path === NODE_IMAGES_ENTRY)) {
      loaded.push(
        ...(await step(onEvent, "load-images", () => runtime.loadImages(openBundleEntry(path, entry, signal), signal))),
      );
    }
    return { path, k3s: bundle.contents.k3s, loaded };
  });
}
