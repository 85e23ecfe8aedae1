/**
 * HTTP to a Docker engine over ssh, with one ssh connection for the whole process: each HTTP
 * connection is a channel on it running `docker system dial-stdio` on the remote host (what the
 * docker CLI runs), or, for an address with a socket path, a forward to that socket (what
 * podman-remote does). Opening a channel costs a round trip; a new ssh connection (key exchange,
 * authentication, and the remote docker CLI starting) costs ten times that, per request, which is
 * what dockerode's own ssh support does.
 *
 * The host key is checked against known_hosts before anything is sent. The connection does not keep
 * the process alive while no channel is open.
 */
import { readFile } from "node:fs/promises";
import { Agent, type AgentOptions } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { RuntimeUnavailableError } from "../../../base/errors.js";
import { hostEntries, keyType, knownHostsName, verdictFor, type HostKeyVerdict } from "./known-hosts.js";
import type { SshSettings } from "./settings.js";

/** Below OpenSSH's MaxSessions (10): channels one connection carries before another is opened. */
const CHANNELS_PER_CONNECTION = 8;
const REMOTE_COMMAND = "docker system dial-stdio";

/** The ssh2 host key algorithm names that sign with a key of a known_hosts key type. */
function algorithmsFor(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

interface Connection {
  client?: Client;
  readonly socket: Socket;
  ready: Promise<void>;
  channels: number;
  closed: boolean;
}

export class SshTransport {
  private readonly connections: Connection[] = [];
  /** A failure to connect or authenticate is the same for the next request: it is kept and rethrown. */
  private failure: Error | undefined;

  constructor(
    private readonly settings: SshSettings,
    private readonly address: string,
  ) {}

  /** A duplex stream to the engine's API: one HTTP connection's worth. */
  async dial(): Promise<Duplex> {
    const conn = await this.connection();
    conn.channels++;
    conn.socket.ref();
    let stream: ClientChannel;
    try {
      stream = await new Promise<ClientChannel>((resolve, reject) => {
        const done = (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch));
        const client = conn.client as Client;
        if (this.settings.socketPath !== undefined) client.openssh_forwardOutStreamLocal(this.settings.socketPath, done);
        else client.exec(REMOTE_COMMAND, done);
      });
    } catch (err) {
      this.release(conn);
      throw this.unreachable(`cannot open a channel: ${(err as Error).message}`, err);
    }
    stream.once("close", () => this.release(conn));
    return socketLike(stream);
  }

  /** Closes every connection; open channels end with them. */
  close(): void {
    for (const c of this.connections.splice(0)) {
      c.closed = true;
      c.client?.end();
    }
  }

  private release(conn: Connection): void {
    conn.channels--;
    if (conn.channels === 0) conn.socket.unref();
  }

  private unreachable(why: string, cause?: unknown): RuntimeUnavailableError {
    return new RuntimeUnavailableError(`cannot reach the Docker engine at ${this.address}: ${why}`, { cause });
  }

  private async connection(): Promise<Connection> {
    if (this.failure) throw this.failure;
    const open = this.connections.filter((c) => !c.closed);
    const free = open.find((c) => c.channels < CHANNELS_PER_CONNECTION);
    const conn = free ?? this.open();
    try {
      await conn.ready;
    } catch (err) {
      const first = open.length === 0;
      const error = err instanceof RuntimeUnavailableError ? err : this.unreachable((err as Error).message, err);
      // The first connection failing says how every one would; an extra one failing is retried.
      if (first) this.failure = error;
      throw error;
    }
    return conn;
  }

  private open(): Connection {
    const s = this.settings;
    const socket = netConnect({ host: s.hostname, port: s.port });
    socket.on("error", () => undefined);
    const conn: Connection = { socket, ready: Promise.resolve(), channels: 0, closed: false };
    conn.ready = this.handshake(conn).catch((err: unknown) => {
      conn.closed = true;
      socket.destroy();
      throw err;
    });
    this.connections.push(conn);
    return conn;
  }

  private async handshake(conn: Connection): Promise<void> {
    const s = this.settings;
    const known = await hostEntries(s.knownHostsFiles, s.hostKeyName, s.port);
    const { Client } = await import("ssh2");
    const keys = await readKeys(s.identityFiles);
    const types = [...new Set(known.filter((e) => e.marker === undefined).map((e) => e.type))];
    let refusal: Error | undefined;
    const client = new Client();
    conn.client = client;
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      client.once("error", (err) => reject(refusal ?? err));
      client.once("close", () => {
        conn.closed = true;
        reject(refusal ?? new Error("the connection closed"));
      });
      const config: ConnectConfig = {
        sock: conn.socket,
        username: s.user,
        readyTimeout: s.connectTimeoutMs,
        keepaliveInterval: 15_000,
        // The key types known_hosts holds for the host come first, so a known key is the one offered.
        ...(types.length > 0 ? { algorithms: { serverHostKey: types.flatMap(algorithmsFor) as never } } : {}),
        hostVerifier: (key: Buffer) => {
          const verdict = verdictFor(known, key);
          if (verdict.kind === "known") return true;
          const lenient = s.strictHostKeyChecking === "accept-new" || s.strictHostKeyChecking === "no";
          if (verdict.kind === "unknown" && lenient) return true;
          refusal = this.unreachable(hostKeyProblem(verdict, knownHostsName(s.hostKeyName, s.port), keyType(key), s));
          return false;
        },
        authHandler: [
          ...(s.agent !== undefined && !s.identitiesOnly ? [{ type: "agent" as const, username: s.user, agent: s.agent }] : []),
          ...keys.map((key) => ({ type: "publickey" as const, username: s.user, key })),
        ] as never,
      };
      client.connect(config);
    });
    // A connection that fails later (an engine host restart, the network) fails its open channels.
    client.on("error", () => undefined);
  }
}

function hostKeyProblem(verdict: HostKeyVerdict, name: string, type: string, s: SshSettings): string {
  switch (verdict.kind) {
    case "unknown":
      return `the host key of ${name} (${type}) is not in ${s.knownHostsFiles.join(", ")}: connect once with ssh to check and add it (or ssh-keyscan), or set StrictHostKeyChecking accept-new for the host`;
    case "revoked":
      return `the host key of ${name} is revoked (${verdict.file}:${verdict.line})`;
    default:
      return `the host key of ${name} does not match ${"file" in verdict ? `${verdict.file}:${verdict.line}` : "known_hosts"}: it changed, or something is in between. If the host was reinstalled, remove the old key (ssh-keygen -R ${name})`;
  }
}

async function readKeys(files: readonly string[]): Promise<Buffer[]> {
  const keys = await Promise.all(files.map((f) => readFile(f).catch(() => undefined)));
  return keys.flatMap((k) => (k === undefined ? [] : [k]));
}

/** An ssh channel lacks the socket methods http.Agent calls on its connections. */
function socketLike(channel: ClientChannel): Duplex {
  const s = channel as unknown as Record<string, unknown>;
  for (const name of ["setKeepAlive", "setNoDelay", "ref", "unref"]) s[name] ??= () => channel;
  s.setTimeout ??= (_ms: number, cb?: () => void) => {
    if (cb) channel.once("timeout", cb);
    return channel;
  };
  return channel;
}

/** An http.Agent whose connections are channels of one ssh transport. */
export class SshAgent extends Agent {
  constructor(
    private readonly transport: SshTransport,
    options: AgentOptions = {},
  ) {
    super({ keepAlive: true, ...options });
  }

  override createConnection(_options: unknown, callback?: (err: Error | null, socket: Duplex) => void): Duplex | undefined {
    this.transport.dial().then(
      (socket) => callback?.(null, socket),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}
