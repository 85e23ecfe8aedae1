/** Host ports: picking free ones and checking that the ones asked for are free, before anything exists. */
import getPort from "get-port";
import { createServer } from "node:net";
import { ConflictError, UsageError } from "../base/errors.js";

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
