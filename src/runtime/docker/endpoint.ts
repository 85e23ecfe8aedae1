/**
 * Which Docker engine k3box talks to, chosen the way the docker CLI chooses: an engine named to
 * k3box (`--engine`, K3BOX_ENGINE, a config file's `engine:`), else DOCKER_HOST, else
 * DOCKER_CONTEXT, else the current context of ~/.docker/config.json, else the local socket.
 * A name without `://` is a Docker context. Nothing here talks to the engine.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { RuntimeUnavailableError } from "../../base/errors.js";

/** An engine named to k3box itself, and where it was named. */
export interface EngineChoice {
  /** A URL (`unix://`, `tcp://`, `ssh://`, `npipe://`) or the name of a Docker context. */
  readonly value: string;
  /** Where it was named, for messages: `--engine`, `K3BOX_ENGINE`, `engine: in k3box.yaml`. */
  readonly from: string;
}

export interface EngineTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Check the engine's certificate against `ca` (else any certificate is taken, as DOCKER_TLS does). */
  readonly verify: boolean;
}

export interface EngineEndpoint {
  /** The engine's address: `unix:///…`, `tcp://HOST:PORT`, `ssh://[USER@]HOST[:PORT]`, `npipe://…`. */
  readonly host: string;
  readonly tls?: EngineTls;
  /** The Docker context it came from. */
  readonly context?: string;
  /** Why this engine, in words: what named it. */
  readonly reason: string;
  /** How k3box records this engine (a context's name, else the address): what finds it again later. */
  readonly name: string;
}

export const DEFAULT_SOCKET = "unix:///var/run/docker.sock";

/** The schemes Docker's own client takes; a host without one is tcp. */
const SCHEMES = new Set(["unix:", "npipe:", "tcp:", "http:", "https:", "ssh:", "fd:"]);

/** Why an address cannot name an engine, if it cannot. */
export function engineAddressProblem(value: string): string | undefined {
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

function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
}

/** TLS settings for a tcp:// address named directly, as the docker CLI reads them from the environment. */
function envTls(env: NodeJS.ProcessEnv): EngineTls | undefined {
  const verify = (env.DOCKER_TLS_VERIFY ?? "") !== "";
  if (!verify && (env.DOCKER_TLS ?? "") === "") return undefined;
  const dir = env.DOCKER_CERT_PATH || dockerConfigDir(env);
  const file = (name: string) => (existsSync(join(dir, name)) ? join(dir, name) : undefined);
  const [ca, cert, key] = [file("ca.pem"), file("cert.pem"), file("key.pem")];
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), verify };
}

function unreachable(what: string, why: string): RuntimeUnavailableError {
  return new RuntimeUnavailableError(`cannot reach the Docker engine (${what}: ${why})`);
}

/** A URL named by the user: checked, normalised (a bare host is tcp://), with the environment's TLS for tcp. */
function fromAddress(value: string, reason: string, env: NodeJS.ProcessEnv): EngineEndpoint {
  const problem = engineAddressProblem(value);
  if (problem !== undefined) throw unreachable(`${reason}=${value}`, problem);
  const host = value.includes("://") ? value : `tcp://${value}`;
  const tls = host.startsWith("tcp://") ? envTls(env) : undefined;
  return { host, reason, name: value, ...(tls ? { tls } : {}) };
}

interface ContextMeta {
  readonly Name?: string;
  readonly Endpoints?: { readonly docker?: { readonly Host?: string; readonly SkipTLSVerify?: boolean } };
}

/** A Docker context as the docker CLI stores it: `contexts/meta/<sha256 of the name>/meta.json`, TLS files beside. */
export function readContext(name: string, env: NodeJS.ProcessEnv, reason: string): EngineEndpoint {
  const dir = dockerConfigDir(env);
  const id = createHash("sha256").update(name).digest("hex");
  const metaPath = join(dir, "contexts", "meta", id, "meta.json");
  let meta: ContextMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, "utf8")) as ContextMeta;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? `context not found (no ${metaPath})` : (err as Error).message;
    throw unreachable(`Docker context "${name}"`, why);
  }
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw unreachable(`Docker context "${name}"`, `${metaPath} names no docker endpoint`);
  const problem = engineAddressProblem(host);
  if (problem !== undefined) throw unreachable(`Docker context "${name}" (${host})`, problem);
  // The CLI copies a context's TLS files here; their presence is what makes it TLS.
  const tlsDir = join(dir, "contexts", "tls", id, "docker");
  const file = (f: string) => (existsSync(join(tlsDir, f)) ? join(tlsDir, f) : undefined);
  const [ca, cert, key] = [file("ca.pem"), file("cert.pem"), file("key.pem")];
  const tls =
    ca || cert || key
      ? {
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          verify: !meta.Endpoints?.docker?.SkipTLSVerify,
        }
      : undefined;
  return { host, context: name, reason, name, ...(tls ? { tls } : {}) };
}

function currentContext(env: NodeJS.ProcessEnv): string | undefined {
  const path = join(dockerConfigDir(env), "config.json");
  try {
    const config = JSON.parse(readFileSync(path, "utf8")) as { currentContext?: string };
    return config.currentContext || undefined;
  } catch {
    return undefined;
  }
}

function defaultEndpoint(reason: string): EngineEndpoint {
  return { host: DEFAULT_SOCKET, reason, name: DEFAULT_SOCKET };
}

/** An engine value as given: a context name, `default`, or an address. */
function named(value: string, reason: string, env: NodeJS.ProcessEnv): EngineEndpoint {
  if (value.includes("://")) return fromAddress(value, reason, env);
  if (value === "default") return defaultEndpoint(`${reason} (the default context)`);
  return readContext(value, env, `${reason} (Docker context "${value}")`);
}

/** The engine to use and why. Throws RuntimeUnavailableError (exit 3) for one that cannot be named. */
export function resolveEndpoint(choice: EngineChoice | undefined, env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  if (choice !== undefined && choice.value !== "") return named(choice.value, choice.from, env);
  const fromEnv = env.K3BOX_ENGINE;
  if (fromEnv) return named(fromEnv, "K3BOX_ENGINE", env);
  if (env.DOCKER_HOST) return fromAddress(env.DOCKER_HOST, "DOCKER_HOST", env);
  if (env.DOCKER_CONTEXT) return named(env.DOCKER_CONTEXT, "DOCKER_CONTEXT", env);
  const current = currentContext(env);
  if (current !== undefined && current !== "default") {
    return readContext(current, env, `the current Docker context "${current}" (${join(dockerConfigDir(env), "config.json")})`);
  }
  return defaultEndpoint("the local socket (no --engine, DOCKER_HOST or Docker context names another)");
}
