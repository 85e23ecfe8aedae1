/** Host ports: picking free ones and checking that the ones asked for are free, before anything exists. */
import getPort from "get-port";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { ConflictError, K3boxError, UsageError } from "../base/errors.js";
import type { EnginePlace, Labels, Runtime } from "../runtime/types.js";
import { DEFAULT_HOST_IP } from "./cluster-spec/ports.js";

export async function pickFreePort(host: string): Promise<number> {
  return getPort({ host: host === "0.0.0.0" ? undefined : host } as Parameters<typeof getPort>[0]);
}

/** Binds and releases the port; EADDRINUSE means someone (maybe another cluster) holds it. */
export function assertPortFree(host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") reject(new ConflictError(`${what}: port ${host}:${port} is already in use`));
      // The value asked for cannot work here, whatever else runs: a usage error, not a conflict.
      else if (err.code === "EADDRNOTAVAIL") reject(new UsageError(`${what}: address ${host} is not on this host`));
      else if (err.code === "EACCES") reject(new UsageError(`${what}: port ${host}:${port} needs more privileges`));
      else reject(err);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** A host port a create publishes: a given one must be free, a missing one is picked. */
export interface PortRequest {
  readonly hostIp: string;
  readonly hostPort?: number;
  readonly protocol: "tcp" | "udp";
  /** The input that asks for it, for messages (`--api-port`, `port mapping "8080:80"`). */
  readonly what: string;
}

/** Checks the ports asked for and, with `pick`, chooses the missing ones; answers in the requests' order (0: not picked). */
export type SettlePorts = (requests: readonly PortRequest[], pick: boolean) => Promise<number[]>;

/** On this machine: a bind says whether a port is free (only TCP can be checked so); get-port picks. */
export const settleLocalPorts: SettlePorts = async (requests, pick) => {
  const chosen: number[] = [];
  for (const r of requests) {
    if (r.hostPort !== undefined) {
      if (r.protocol === "tcp") await assertPortFree(r.hostIp, r.hostPort, r.what);
      chosen.push(r.hostPort);
    } else {
      chosen.push(pick ? await pickFreePort(r.hostIp) : 0);
    }
  }
  return chosen;
};

/** Container ports of the throwaway container, one per request. */
const FIRST_PROBE_PORT = 10_000;

/**
 * On an engine on another host, probing this machine would say nothing: the engine is asked. A
 * throwaway container of `image` (already on the engine) publishes every request at once, the given
 * ports as given (the engine refuses one in use) and the others with no port (the engine picks a free
 * one); the engine's answer is read back and the container removed. The ports are free again then,
 * for the cluster's containers a moment later.
 */
export function settleOnEngine(runtime: Runtime, image: string, labels: Labels, signal: AbortSignal): SettlePorts {
  return async (requests, pick) => {
    const asked = pick ? requests : requests.filter((r) => r.hostPort !== undefined);
    if (asked.length === 0) return requests.map((r) => r.hostPort ?? 0);
    const name = `k3box-ports-${randomBytes(4).toString("hex")}`;
    const ports = asked.map((r, i) => ({
      containerPort: FIRST_PROBE_PORT + i,
      protocol: r.protocol,
      hostIp: r.hostIp,
      hostPort: r.hostPort ?? 0,
    }));
    try {
      await runtime.createContainer(
        { name, image, entrypoint: ["/bin/sh", "-c", "sleep 60"], labels, ports, network: "bridge", restartPolicy: "no" },
        signal,
      );
      try {
        await runtime.startContainer(name, signal);
      } catch (err) {
        if (err instanceof K3boxError && /cannot assign requested address/i.test(err.message)) {
          const addresses = [...new Set(asked.map((r) => `${r.what} (${r.hostIp})`))].join(", ");
          throw new UsageError(`an address asked for is not on the engine's host: ${addresses}: ${err.message}`, { cause: err });
        }
        if (!(err instanceof ConflictError)) throw err;
        const given = asked.filter((r) => r.hostPort !== undefined).map((r) => `${r.what} (${r.hostIp}:${r.hostPort})`);
        throw new ConflictError(`a host port asked for is in use on the engine's host: ${given.join(", ")}: ${err.message}`, {
          cause: err,
        });
      }
      const info = await runtime.inspectContainer(name, signal);
      const byContainerPort = new Map((info?.ports ?? []).map((p) => [`${p.containerPort}/${p.protocol}`, p.hostPort]));
      return requests.map((r) => {
        const i = asked.indexOf(r);
        if (i < 0) return r.hostPort ?? 0;
        const port = byContainerPort.get(`${FIRST_PROBE_PORT + i}/${r.protocol}`) ?? 0;
        if (port === 0) throw new K3boxError(`the engine published no host port for ${r.what}`);
        return port;
      });
    } finally {
      await runtime.removeContainer(name).catch(() => undefined);
    }
  };
}

/** How ports are settled on this engine: here for a local one, by the engine (with `image`, which must be there) for one elsewhere. */
export function portSettler(
  place: EnginePlace,
  runtime: Runtime,
  image: string,
  labels: Labels,
  signal: AbortSignal,
): SettlePorts {
  return place.remote === undefined ? settleLocalPorts : settleOnEngine(runtime, image, labels, signal);
}

/** Where a port is published when the input names no address: loopback here, the address an engine elsewhere is reached at. */
export function defaultPublishAddress(place: EnginePlace): string {
  return place.remote?.address ?? DEFAULT_HOST_IP;
}

/**
 * Where the engine runs, which the input's defaults depend on. An engine that cannot even be named
 * (a bad DOCKER_HOST) is reported after the input is checked, as any other engine failure: bad input
 * is a usage error first.
 */
export async function placeAfterInput(runtime: Runtime | undefined): Promise<{ known?: EnginePlace; check(): void }> {
  try {
    const known = await runtime?.place();
    return { ...(known ? { known } : {}), check: () => undefined };
  } catch (err) {
    return {
      check: () => {
        throw err;
      },
    };
  }
}
