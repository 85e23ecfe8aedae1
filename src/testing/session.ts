/**
 * This process's test session: one id that every cluster it starts carries (the dialect's session
 * label), and a connection to the session's reaper, held for as long as the process lives. When
 * the process ends in any way (exit, crash, SIGKILL, a CI job cancelled) the connection drops and
 * the reaper removes what carries the id, then itself.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { sleep } from "../base/abort.js";
import { K3boxError } from "../base/errors.js";
import { startReaper, type StartedReaper } from "../core/operations/reaper.js";
import type { OperationOptions } from "../index.js";

/** How long the reaper may take to answer once its container started. */
const CONNECT_TIMEOUT_MS = 15_000;

let current: Promise<string> | undefined;

/**
 * The engine's socket as seen on the engine's own host, for the reaper to mount: `K3BOX_REAPER_SOCKET`,
 * else a `unix://` DOCKER_HOST's path, else Docker's default (also the path on a remote engine's host).
 */
export function engineSocket(env: NodeJS.ProcessEnv = process.env): string {
  if (env.K3BOX_REAPER_SOCKET) return env.K3BOX_REAPER_SOCKET;
  const host = env.DOCKER_HOST ?? "";
  return host.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock";
}

/** Whether clusters get a reaper: the option, else not when `K3BOX_REAPER=false`. */
export function reaperWanted(option: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return option ?? !/^(false|0|no|off)$/i.test(env.K3BOX_REAPER ?? "");
}

/** The session id, starting the session's reaper and connecting to it on the first call. */
export function reaperSession(options: OperationOptions): Promise<string> {
  if (current === undefined) {
    const pending = begin(options);
    current = pending;
    pending.catch(() => {
      if (current === pending) current = undefined;
    });
  }
  return current;
}

async function begin(options: OperationOptions): Promise<string> {
  const session = randomBytes(8).toString("hex");
  const reaper = await startReaper({ session, engineSocket: engineSocket() }, options);
  const socket = await hold(reaper);
  // A reaper that went away (removed by hand) protects nothing: later clusters get a new session.
  socket.on("close", () => {
    current = undefined;
  });
  return session;
}

/** Connects and waits for the reaper's `ACK`; the connection then lives, unref'd, as long as the process. */
async function hold(reaper: StartedReaper): Promise<Socket> {
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const socket = await handshake(reaper.host, reaper.port);
      socket.setKeepAlive(true, 5000);
      socket.unref();
      return socket;
    } catch (err) {
      // The engine's port proxy takes the connection before the reaper listens, then drops it.
      last = (err as Error).message;
      await sleep(100);
    }
  }
  throw new K3boxError(`the reaper ${reaper.container} did not answer on ${reaper.host}:${reaper.port} (${last})`);
}

function handshake(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let received = "";
    const fail = (why: string) => {
      socket.destroy();
      reject(new K3boxError(why));
    };
    socket.setTimeout(2000, () => fail("no ACK within 2s"));
    socket.on("error", (err) => fail(err.message));
    socket.on("close", () => fail("connection closed before ACK"));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      if (!received.includes("ACK\n")) return;
      socket.setTimeout(0);
      socket.removeAllListeners();
      // Nothing more is read; errors after the handshake only mean the reaper is gone.
      socket.on("error", () => {});
      resolve(socket);
    });
  });
}
