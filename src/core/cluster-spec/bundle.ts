/** A bundle as cluster input: its manifests join the cluster's files, its node images archive is noted. */
import { readBundle } from "../bundle/read.js";
import { manifestFileName, NODE_IMAGES_ENTRY } from "../bundle/format.js";
import { K3S_MANIFESTS_DIR } from "./files.js";
import { parseNodeFilters } from "./filters.js";
import type { ClusterBundle, NodeFile } from "./types.js";

export async function loadClusterBundle(path: string): Promise<{ bundle: ClusterBundle; files: NodeFile[] }> {
  const opened = await readBundle(path);
  const { contents } = opened;
  const filters = parseNodeFilters("server:*", `bundle ${path}`);
  const files = opened.manifests.map<NodeFile>((m) => ({
    destination: `${K3S_MANIFESTS_DIR}/${manifestFileName(m.entry)}`,
    content: m.content,
    mode: 0o644,
    filters,
    raw: `bundle ${path}: ${m.entry}`,
    origin: "bundle",
  }));
  const nodeImages = contents.entries.find((e) => e.path === NODE_IMAGES_ENTRY);
  return {
    bundle: {
      path,
      ...(nodeImages ? { nodeImages } : {}),
      engineImages: contents.images.engine.map((i) => i.image),
      ...(contents.k3s.version !== undefined ? { k3sVersion: contents.k3s.version } : {}),
    },
    files,
  };
}

/**
 * The bundle's manifests that the input does not carry already: a manifest or chart given both
 * ways, byte for byte (the same config file used to make the bundle), is deployed once.
 */
export function withoutRepeats(bundleFiles: readonly NodeFile[], files: readonly NodeFile[]): NodeFile[] {
  const inManifestsDir = files.filter((f) => f.destination.startsWith(`${K3S_MANIFESTS_DIR}/`));
  return bundleFiles.filter((b) => !inManifestsDir.some((f) => Buffer.from(f.content).equals(Buffer.from(b.content))));
}
