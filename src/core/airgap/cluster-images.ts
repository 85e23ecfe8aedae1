/**
 * Every image a cluster runs, and where: the containers k3box creates (nodes, load balancer,
 * registry) come from the engine; everything k3s runs inside the nodes (its add-ons, the user's
 * apps) comes from each node's own containerd, which an offline cluster fills from
 * `agent/images/` before k3s starts.
 */
import { K3S_MANIFESTS_DIR } from "../cluster-spec/files.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { parseImageReference } from "../images/reference.js";
import { addonNeeded, addonOf, disabledAddons, k3sImageLists, type K3sImageList } from "./k3s-images.js";
import { DEFAULT_VERSION_SOURCES, k3sVersionOf, type K3sVersionSource } from "../k3s-version.js";

/** engine: run by k3box as a container; nodes: run by k3s inside every node. */
export type ImagePlace = "engine" | "nodes";

export interface ClusterImage {
  readonly image: string;
  readonly place: ImagePlace;
  /** What needs it, for people: "k3s nodes", "load balancer", "k3s v1.35.5+k3s1: coredns", "extra". */
  readonly for: string;
}

export interface ClusterImages {
  /** The nodes' k3s release and how it was found, or why it is not known. */
  readonly k3s: { readonly version?: string; readonly from?: string; readonly list?: Omit<K3sImageList, "images"> };
  readonly images: readonly ClusterImage[];
  /** Images of the k3s release the cluster does not run, and why. */
  readonly omitted: readonly { readonly image: string; readonly why: string }[];
  /** Why the list may be incomplete; empty when it is not. */
  readonly warnings: readonly string[];
}

export interface ClusterImagesOptions {
  /** More images the nodes run (the user's apps). */
  readonly extraImages?: readonly string[];
  /** How to find the nodes' k3s release; default: from the image tag. */
  readonly versionSources?: readonly K3sVersionSource[];
  readonly signal?: AbortSignal;
}

/** Docker's and containerd's one name for an image; a digest reference is kept as written. */
export function canonicalImage(image: string): string {
  try {
    return parseImageReference(image).canonical;
  } catch {
    return image;
  }
}

export async function clusterImages(spec: ClusterSpec, options: ClusterImagesOptions = {}): Promise<ClusterImages> {
  const images: ClusterImage[] = [];
  const seen = new Set<string>();
  const add = (image: string, place: ImagePlace, why: string) => {
    const name = canonicalImage(image);
    if (seen.has(name)) return;
    seen.add(name);
    images.push({ image: name, place, for: why });
  };
  add(spec.image, "engine", "k3s nodes");
  if (spec.loadBalancer) add(spec.loadBalancerImage, "engine", "load balancer");
  const registry = spec.registries.create;
  if (registry) add(registry.image, "engine", `registry ${registry.name}`);

  const warnings: string[] = [];
  const omitted: { image: string; why: string }[] = [];
  const version = await k3sVersionOf(spec.image, options.versionSources ?? DEFAULT_VERSION_SOURCES, options.signal);
  let k3s: ClusterImages["k3s"] = {};
  if (version.version === undefined) {
    warnings.push(`${version.reason}: its add-on images are not listed`);
  } else {
    const list = (await k3sImageLists()).find((l) => l.version === version.version);
    k3s = {
      version: version.version,
      from: version.from,
      ...(list ? { list: { version: list.version, kind: list.kind, source: list.source } } : {}),
    };
    if (list === undefined) {
      const known = (await k3sImageLists()).map((l) => l.version).join(", ");
      warnings.push(
        `k3box has no list of the add-on images of k3s ${version.version} (it has ${known}): add it with scripts/k3s-images.mjs ${version.version}`,
      );
    }
    const charts = hasCharts(spec);
    for (const image of list?.images ?? []) {
      const addon = addonOf(image);
      if (addonNeeded(addon, spec, charts)) add(image, "nodes", `k3s ${version.version}: ${addon}`);
      else omitted.push({ image: canonicalImage(image), why: whyOmitted(addon, spec) });
    }
  }
  for (const image of options.extraImages ?? []) add(image, "nodes", "extra");
  return { k3s, images, omitted, warnings };
}

/** The user's charts, or a HelmChart in a manifest of theirs, need the Helm controller's job image. */
function hasCharts(spec: ClusterSpec): boolean {
  if (spec.charts.length > 0) return true;
  return spec.files.some(
    (f) => f.destination.startsWith(`${K3S_MANIFESTS_DIR}/`) && /^kind:\s*HelmChart\s*$/m.test(f.content.toString()),
  );
}

function whyOmitted(addon: string, spec: ClusterSpec): string {
  if (addon === "helm") {
    return disabledAddons(spec).helmController
      ? "--disable-helm-controller"
      : "no chart to install (--disable traefik and no charts)";
  }
  return `--disable ${addon}`;
}
