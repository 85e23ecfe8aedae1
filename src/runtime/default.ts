/** The engine k3box uses when its caller names none: Docker, as DOCKER_HOST (or the local socket) says. */
import { DockerRuntime } from "./docker/runtime.js";
import type { Runtime } from "./types.js";

export function defaultRuntime(): Runtime {
  return new DockerRuntime();
}
