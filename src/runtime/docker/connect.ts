/** Connecting to the Docker engine an endpoint names, and telling where that engine runs. */
import type Docker from "dockerode";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { RuntimeUnavailableError } from "../../base/errors.js";
import type { EnginePlace } from "../types.js";
import type { EngineEndpoint } from "./endpoint.js";
import { sshSettings } from "./ssh/settings.js";
import type { SshTransport } from "./ssh/transport.js";

export interface Connection {
  readonly docker: Docker;
  /** The ssh connection under it, if any: closed with the runtime. */
  readonly ssh?: SshTransport;
}

/**
 * dockerode reads DOCKER_HOST and the TLS files of DOCKER_CERT_PATH whenever a client is made, and
 * lets them override part of what it is given (an ssh agent, TLS files that may not exist). The
 * endpoint already says everything, so the client is made with DOCKER_HOST out of the way.
 */
function withoutDockerHost<T>(make: () => T): T {
  const saved = process.env.DOCKER_HOST;
  delete process.env.DOCKER_HOST;
  try {
    return make();
  } finally {
    if (saved !== undefined) process.env.DOCKER_HOST = saved;
  }
}

function unreachable(endpoint: EngineEndpoint, why: string, cause?: unknown): RuntimeUnavailableError {
  return new RuntimeUnavailableError(`cannot reach the Docker engine at ${endpoint.host} (${endpoint.reason}): ${why}`, {
    cause,
  });
}

function readTls(endpoint: EngineEndpoint): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const tls = endpoint.tls;
  if (!tls) return {};
  const read = (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw unreachable(endpoint, `cannot read the TLS ${what} ${path}: ${(err as Error).message}`, err);
    }
  };
  const ca = read(tls.ca, "CA");
  const cert = read(tls.cert, "certificate");
  const key = read(tls.key, "key");
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/**
 * The engine client. dockerode (and ssh2, for ssh://) is imported here, on the first engine call,
 * so that commands which never reach the engine do not pay for loading it.
 */
export async function connect(endpoint: EngineEndpoint): Promise<Connection> {
  const { default: Dockerode } = await import("dockerode");
  const url = new URL(endpoint.host);
  const make = (options: Docker.DockerOptions) => withoutDockerHost(() => new Dockerode(options));
  switch (url.protocol) {
    case "unix:":
    case "npipe:":
      return { docker: make({ socketPath: decodeURIComponent(url.pathname) || "/var/run/docker.sock" }) };
    case "ssh:": {
      const { SshAgent, SshTransport } = await import("./ssh/transport.js");
      const ssh = new SshTransport(await sshSettings(endpoint.host), endpoint.host);
      // Plain HTTP over the ssh channels: the engine's host name is only the Host header.
      return {
        docker: make({ protocol: "http", host: "docker", port: 80, agent: new SshAgent(ssh) } as Docker.DockerOptions),
        ssh,
      };
    }
    default: {
      const tls = endpoint.tls !== undefined || url.protocol === "https:";
      const port = url.port || (tls ? "2376" : "2375");
      const files = readTls(endpoint);
      return {
        docker: make({
          protocol: tls ? "https" : "http",
          host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
          port,
          ...files,
          // DOCKER_TLS without DOCKER_TLS_VERIFY: encrypted, but any server certificate is taken.
          ...(tls && endpoint.tls?.verify === false ? { checkServerIdentity: () => undefined, ca: undefined } : {}),
        } as Docker.DockerOptions),
      };
    }
  }
}

function ownAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) addresses.add(a.address);
  return addresses;
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/**
 * Where the engine runs, from its address: a socket, loopback or an address of this machine is
 * here; any other host is elsewhere, at the IPv4 address its name resolves to from here.
 */
export async function placeOf(endpoint: EngineEndpoint): Promise<EnginePlace> {
  const url = new URL(endpoint.host);
  const base = { endpoint: endpoint.name, reason: endpoint.reason };
  if (url.protocol === "unix:" || url.protocol === "npipe:") return base;
  const host = url.protocol === "ssh:" ? (await sshSettings(endpoint.host)).hostname : url.hostname.replace(/^\[(.*)\]$/, "$1");
  let address = host;
  if (isIP(host) === 0) {
    try {
      address = (await lookup(host, { family: 4 })).address;
    } catch (err) {
      throw unreachable(endpoint, `${host} does not resolve to an IPv4 address here`, err);
    }
  }
  if (isLoopback(address) || ownAddresses().has(address)) return base;
  return { ...base, remote: { host, address } };
}
