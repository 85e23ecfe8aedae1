import { DockerRuntime } from "../../runtime/docker/runtime.js";
import type { Runtime } from "../../runtime/types.js";
import { ignoreEvents, type EventSink } from "../events.js";

/** What every operation may be given; all optional for library callers. */
export interface OperationOptions {
  /** Defaults to Docker as DOCKER_HOST (or the local socket) says. */
  readonly runtime?: Runtime;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  /** The kubeconfig file to update; defaults to the first of $KUBECONFIG, else ~/.kube/config. */
  readonly kubeconfigPath?: string;
}

export function resolveOptions(o: OperationOptions): { runtime: Runtime; onEvent: EventSink } {
  return { runtime: o.runtime ?? new DockerRuntime(), onEvent: o.onEvent ?? ignoreEvents };
}
