/** Connecting to the Docker engine that DOCKER_HOST names (else the local socket). */
import type Docker from "dockerode";
import { RuntimeUnavailableError } from "../../base/errors.js";

/** The schemes Docker's own client takes in DOCKER_HOST; a host without one is tcp. */
const SCHEMES = new Set(["unix:", "npipe:", "tcp:", "http:", "https:", "ssh:", "fd:"]);

/** Why DOCKER_HOST cannot name an engine, if it cannot. */
export function dockerHostProblem(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  let scheme: string;
  try {
    scheme = new URL(value.includes("://") ? value : `tcp://${value}`).protocol;
  } catch {
    return "it is not an address";
  }
  if (!SCHEMES.has(scheme)) return `unsupported scheme "${scheme.slice(0, -1)}" (use unix://, tcp://, ssh:// or npipe://)`;
  if (scheme === "fd:") return "fd:// works only for the Docker daemon itself";
  return undefined;
}

/**
 * The engine client. dockerode is imported here, on the first engine call, so that commands which
 * never reach the engine do not pay for loading it.
 */
export async function connect(env: NodeJS.ProcessEnv = process.env): Promise<Docker> {
  const host = env.DOCKER_HOST;
  const problem = dockerHostProblem(host);
  const unreachable = (why: string, cause?: unknown) =>
    new RuntimeUnavailableError(`cannot reach the Docker engine (DOCKER_HOST=${host ?? ""}: ${why})`, { cause });
  if (problem !== undefined) throw unreachable(problem);
  const { default: Dockerode } = await import("dockerode");
  try {
    return new Dockerode();
  } catch (err) {
    // docker-modem reads DOCKER_HOST and the TLS files of DOCKER_CERT_PATH when it is made.
    throw unreachable((err as Error).message, err);
  }
}
