/**
 * k3d's `image import --keep-tarball`: besides the import itself, the images are kept as one
 * archive in the cluster's image volume (/k3d/images, shared by every node), where k3d keeps them.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { UsageError, NotFoundError, K3boxError } from "../../base/errors.js";
import { loadCluster } from "../cluster-ref.js";
import { IMAGE_VOLUME_PATH } from "../dialect.js";
import { parseImageReference } from "../images/reference.js";
import { imageVolumeName } from "../naming.js";
import { runOperation, type OperationOptions } from "../operation.js";

/** `k3d-CLUSTER-images-YYYYMMDDhhmmss.tar`, k3d's name for it. */
function archiveName(volume: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${volume}-${stamp}.tar`;
}

/**
 * Writes the images (engine image names, or one archive file) as a tar into the cluster's image
 * volume through one of its running nodes; returns the path in the nodes.
 */
export function keepImageArchive(cluster: string, sources: readonly string[], options: OperationOptions = {}): Promise<string> {
  if (sources.length === 0) throw new UsageError("nothing to keep: give image names or an archive file");
  return runOperation(`keeping the images of "${cluster}" in its image volume`, options, async (op) => {
    const { runtime, signal, dialect } = op;
    const ref = await loadCluster(op, cluster);
    const volume = imageVolumeName(dialect, cluster);
    const node = [...ref.servers, ...ref.agents].find(
      (c) => c.running && c.mounts.some((m) => m.type === "volume" && m.source === volume),
    );
    if (!node) {
      throw new UsageError(
        `cluster "${cluster}" has no running node with the image volume ${volume} (created with --no-image-volume): there is nowhere to keep the tarball`,
      );
    }
    const files = sources.filter((s) => s !== "-" && existsSync(s) && statSync(s).isFile());
    if (sources.includes("-")) throw new UsageError("--keep-tarball cannot keep stdin: it is read once, for the import");
    if (files.length > 0 && (files.length > 1 || sources.length > 1)) {
      throw new UsageError("--keep-tarball keeps one archive file, or images from the engine, not a mix");
    }
    let tar: Readable;
    if (files.length === 1) {
      tar = createReadStream(files[0] as string);
    } else {
      const refs = sources.map((s) => parseImageReference(s).familiar);
      for (const r of refs) if (!(await runtime.imageExists(r, signal))) throw new NotFoundError(`image "${r}" not found`);
      tar = await runtime.saveImages(refs, signal);
    }
    const path = `${IMAGE_VOLUME_PATH}/${archiveName(volume, new Date())}`;
    // The path is k3box's own, passed as an argument, never as part of the script.
    const r = await runtime.exec(node.name, ["sh", "-c", 'cat > "$1"', "sh", path], { stdin: tar }, signal);
    if (r.exitCode !== 0) throw new K3boxError(`cannot write ${path} in ${node.name}: ${r.stderr.trim()}`);
    return path;
  });
}
