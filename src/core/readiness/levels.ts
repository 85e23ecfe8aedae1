/** The levels of readiness an operation can wait for (what each means: readiness/cluster.ts). */
import { UsageError } from "../../base/errors.js";

export const READY_LEVELS = ["api", "workloads", "addons"] as const;
export type ReadyLevel = (typeof READY_LEVELS)[number];
export const DEFAULT_READY_LEVEL: ReadyLevel = "workloads";

export function parseReadyLevel(text: string, what = "--wait-for"): ReadyLevel {
  const level = READY_LEVELS.find((l) => l === text.trim().toLowerCase());
  if (level === undefined) throw new UsageError(`invalid ${what} "${text}": use ${READY_LEVELS.join(", ")}`);
  return level;
}
