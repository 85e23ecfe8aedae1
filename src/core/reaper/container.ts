/**
 * k3box's reaper as an image and a container. images/reaper/ holds what it runs: a small Node
 * script that removes a test session's containers, networks and volumes once the test process's
 * connection to it drops, then removes itself.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ContainerSpec, FileEntry } from "../../runtime/types.js";
import type { Dialect } from "../dialect.js";
import { DEFAULT_NETWORK } from "../registry/types.js";

/** The port the reaper listens on in its container. */
export const REAPER_PORT = 8080;
/** Where the engine's socket is mounted in the reaper. */
const SOCKET_IN_CONTAINER = "/var/run/docker.sock";
/** The image's sources in the package (and in the repository): the same depth from src/ and dist/. */
const SOURCE = new URL("../../../images/reaper/", import.meta.url);
export const REAPER_REPOSITORY = "k3box/reaper";

export interface ReaperImage {
  /** `k3box/reaper:<hash of its sources>`: a changed script is a new image. */
  readonly tag: string;
  readonly context: readonly FileEntry[];
}

export async function reaperImage(): Promise<ReaperImage> {
  const [dockerfile, script] = await Promise.all([
    readFile(new URL("Dockerfile", SOURCE)),
    readFile(new URL("reaper.mjs", SOURCE)),
  ]);
  const hash = createHash("sha256").update(dockerfile).update(script).digest("hex").slice(0, 12);
  return {
    tag: `${REAPER_REPOSITORY}:${hash}`,
    context: [
      { path: "Dockerfile", content: dockerfile },
      { path: "reaper.mjs", content: script, mode: 0o644 },
    ],
  };
}

export function reaperName(d: Dialect, session: string): string {
  return `${d.prefix}-reaper-${session}`;
}

/**
 * The reaper of one session: it removes what carries the dialect's session label with that value.
 * `engineSocket` is the engine's socket on the engine's host; its port is published on loopback.
 */
export function reaperContainer(d: Dialect, session: string, image: string, engineSocket: string): ContainerSpec {
  const name = reaperName(d, session);
  return {
    name,
    image,
    labels: { [d.labels.reaper]: session, [d.labels.version]: d.versionValue },
    env: {
      K3BOX_REAPER_LABEL: `${d.labels.session}=${session}`,
      K3BOX_REAPER_NAME: name,
      K3BOX_REAPER_SOCKET: SOCKET_IN_CONTAINER,
    },
    mounts: [{ type: "bind", source: engineSocket, target: SOCKET_IN_CONTAINER }],
    ports: [{ containerPort: REAPER_PORT, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 }],
    network: DEFAULT_NETWORK,
    restartPolicy: "no",
  };
}
