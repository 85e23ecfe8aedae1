/** What a create from a bundle checks before it creates anything. */
import { NotFoundError } from "../../base/errors.js";
import type { Runtime } from "../../runtime/types.js";
import { canonicalImage } from "../airgap/cluster-images.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { readBundle, verifyBundle } from "./read.js";

/**
 * Every entry matches its sum (a damaged bundle is refused, exit 2), and the images the bundle
 * carries for the engine are there: offline they cannot be pulled, so a missing one names the
 * command that loads it.
 */
export async function checkBundleForCreate(runtime: Runtime, spec: ClusterSpec, signal: AbortSignal): Promise<void> {
  const bundle = spec.bundle;
  if (bundle === undefined) return;
  await verifyBundle(await readBundle(bundle.path, signal), () => {}, signal);
  const carried = new Set(bundle.engineImages.map(canonicalImage));
  const used = [
    spec.image,
    ...(spec.loadBalancer ? [spec.loadBalancerImage] : []),
    ...(spec.registries.create ? [spec.registries.create.image] : []),
  ];
  for (const image of used) {
    if (carried.has(canonicalImage(image)) && !(await runtime.imageExists(image, signal))) {
      throw new NotFoundError(
        `image "${image}" is in bundle ${bundle.path} but not in the engine: load it first (k3box bundle load ${bundle.path})`,
      );
    }
  }
}
