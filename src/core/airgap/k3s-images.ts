/**
 * The images k3s itself runs in a cluster (pause, CoreDNS, Traefik, local-path, metrics-server,
 * klipper-lb, klipper-helm), per release, from data/k3s-images.json (scripts/k3s-images.mjs),
 * and which of them a cluster leaves out when its servers disable an add-on.
 */
import { readFile } from "node:fs/promises";
import { filterMatches } from "../cluster-spec/filters.js";
import { parseImageReference } from "../cluster-spec/images.js";
import type { ClusterSpec } from "../cluster-spec/types.js";

export interface K3sImageList {
  readonly version: string;
  /** release-asset, repository-file or assembled: how sure the list is. */
  readonly kind: string;
  /** Where the list came from. */
  readonly source: string;
  readonly images: readonly string[];
}

/** Same depth from src/ and dist/, like the node entrypoint. */
const DATA = new URL("../../../data/k3s-images.json", import.meta.url);

let lists: Promise<readonly K3sImageList[]> | undefined;

/** Every release k3box has a list for, newest first. */
export function k3sImageLists(): Promise<readonly K3sImageList[]> {
  lists ??= readFile(DATA, "utf8").then((text) => (JSON.parse(text) as { releases: K3sImageList[] }).releases);
  return lists;
}

/**
 * What each add-on needs, by image repository (the last path part). `pause` runs every pod;
 * `helm` is the job image k3s's Helm controller installs charts with (Traefik's included).
 */
const ADDON_OF_REPOSITORY: Readonly<Record<string, Addon>> = {
  "mirrored-pause": "pause",
  pause: "pause",
  "mirrored-coredns-coredns": "coredns",
  "coredns-coredns": "coredns",
  "mirrored-library-traefik": "traefik",
  "library-traefik": "traefik",
  "local-path-provisioner": "local-storage",
  "mirrored-library-busybox": "local-storage",
  "library-busybox": "local-storage",
  "mirrored-metrics-server": "metrics-server",
  "metrics-server": "metrics-server",
  "klipper-lb": "servicelb",
  "klipper-helm": "helm",
};

/** k3s's add-ons as `--disable` names them, plus the pod sandbox and the Helm controller's jobs. */
export type Addon = "pause" | "coredns" | "traefik" | "local-storage" | "metrics-server" | "servicelb" | "helm" | "other";

export function addonOf(image: string): Addon {
  const name = parseImageReference(image)?.name ?? image;
  return ADDON_OF_REPOSITORY[name.slice(name.lastIndexOf("/") + 1)] ?? "other";
}

/** What the servers' k3s arguments switch off: `--disable=X[,Y]` and `--disable-helm-controller`. */
export function disabledAddons(spec: ClusterSpec): { readonly addons: ReadonlySet<string>; readonly helmController: boolean } {
  const server = { role: "server" as const, index: 0 };
  const args = spec.k3sArgs.filter((a) => filterMatches(a.filters, server)).map((a) => a.arg);
  const addons = new Set<string>();
  let helmController = false;
  for (const arg of args) {
    const [flag, value] = splitFlag(arg);
    if (flag === "disable") for (const name of (value ?? "").split(",")) if (name.trim() !== "") addons.add(name.trim());
    if (flag === "disable-helm-controller" && value !== "false") helmController = true;
  }
  return { addons, helmController };
}

function splitFlag(arg: string): [string, string | undefined] {
  const m = /^--?([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
  return m ? [m[1] as string, m[2]] : ["", undefined];
}

/**
 * Whether the cluster runs the image of an add-on: not when its servers disable it; the Helm
 * job image only while something is installed by chart (Traefik or the user's charts).
 */
export function addonNeeded(addon: Addon, spec: ClusterSpec, hasCharts: boolean): boolean {
  const { addons, helmController } = disabledAddons(spec);
  if (addon === "helm") return !helmController && (hasCharts || !addons.has("traefik"));
  if (addon === "pause" || addon === "other") return true;
  return !addons.has(addon);
}
