/** Label selection exactly as Docker's `label` filter answers the list k3box sends it. */
import { labelFilter } from "../../../src/runtime/docker/translate.js";
import type { Labels } from "../../../src/runtime/types.js";

/** Every filter term must hold: `key` means the label is set (any value), `key=value` an equal value. */
export function matchesLabels(labels: Labels, selector: Labels): boolean {
  return labelFilter(selector).every((term) => {
    const i = term.indexOf("=");
    if (i < 0) return Object.hasOwn(labels, term);
    return Object.hasOwn(labels, term.slice(0, i)) && labels[term.slice(0, i)] === term.slice(i + 1);
  });
}
