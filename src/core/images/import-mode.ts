/** How `image import` delivers images: into every node at once, or to the cluster's registry for nodes to pull. */
import { UsageError } from "../../base/errors.js";

export const IMAGE_IMPORT_MODES = ["eager", "registry"] as const;

export type ImageImportMode = (typeof IMAGE_IMPORT_MODES)[number];

export function parseImageImportMode(text: string): ImageImportMode {
  const mode = IMAGE_IMPORT_MODES.find((m) => m === text);
  if (mode === undefined) throw new UsageError(`invalid image import mode "${text}": use ${IMAGE_IMPORT_MODES.join(" or ")}`);
  return mode;
}
