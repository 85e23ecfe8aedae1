/** What `k3box doctor` reports, and the error its blockers stand for; no engine code, so it loads at once. */
import { UnsuitableHostError } from "../base/errors.js";
import type { EnginePlace, RuntimeInfo } from "../runtime/types.js";
import type { OperationOptions } from "./operation.js";

export type CheckStatus = "ok" | "adapted" | "warning" | "blocker" | "skipped";

export interface DoctorCheck {
  readonly id: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly found: string;
  /** What k3box does about it, or what the user has to change. */
  readonly action?: string;
}

export interface DoctorReport {
  /** Which engine, why that one, and where it runs. */
  readonly place?: EnginePlace;
  readonly engine?: RuntimeInfo;
  /** The image the probe ran, and why a probe may have been skipped. */
  readonly probeImage: string;
  readonly checks: readonly DoctorCheck[];
  readonly blockers: number;
}

export interface DoctorOptions extends OperationOptions {
  /** The node image to probe with (pulled if missing); default the default k3s image. */
  readonly image?: string;
}

/** The error a report with blockers stands for. */
export function blockerError(r: DoctorReport): UnsuitableHostError {
  const found = r.checks.filter((c) => c.status === "blocker").map((c) => `${c.id}: ${c.found}`);
  return new UnsuitableHostError(`this engine cannot run k3s nodes: ${found.join("; ")}`);
}
