/**
 * A second Docker engine playing a remote host: Debian's dockerd in a network namespace of its
 * own (see netns.ts), reached at the namespace's address over
 *   tcp://<address>:2375  plain (tcp-forward.mjs to the engine's socket),
 *   tcp://<address>:2376  TLS with client certificates (dockerd --tlsverify),
 *   ssh://root@<address>  through an sshd in the namespace (optional),
 * and by its unix socket from this machine. It keeps its own data root, exec root, containerd,
 * bridge, iptables (those of its namespace) and engine ID, and uses the same runc-capfix runtime
 * as the local engine. stop() removes all of it.
 */
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { copyImages } from "./images.js";
import { createNamespace, removeNamespace, type Slot } from "./netns.js";
import { startDaemon, waitFor } from "./processes.js";
import { startSshd, type SshAccess } from "./sshd.js";
import { STATE_ROOT, writeRecord, type NetnsDockerRecord } from "./state.js";
import { sweepStaleEngines, teardownNetnsDocker } from "./teardown.js";
import { createEngineTls, type EngineTls } from "./tls.js";

export type Transport = "unix" | "tcp" | "tls" | "ssh";

export interface RemoteDockerOptions {
  /** Copied from the local engine once the engine is up. */
  readonly images?: readonly string[];
  /** Run sshd in the namespace too, for ssh://. */
  readonly ssh?: boolean;
}

const CAPFIX = "/usr/local/bin/runc-capfix";
const FORWARDER = fileURLToPath(new URL("./tcp-forward.mjs", import.meta.url));
export const PLAIN_PORT = 2375;
export const TLS_PORT = 2376;

export class RemoteDockerEngine {
  private stopped?: Promise<void>;

  private constructor(
    private readonly record: NetnsDockerRecord,
    readonly slot: Slot,
    readonly socketPath: string,
    readonly tls: EngineTls,
    readonly ssh: SshAccess | undefined,
  ) {}

  /** The "remote host" address: where its published ports are reached from this machine. */
  get address(): string {
    return this.slot.address;
  }

  /** This machine's address as the engine's host sees it (the veth's other end). */
  get hostAddress(): string {
    return this.slot.hostAddress;
  }

  get dir(): string {
    return this.record.dir;
  }

  host(transport: Transport): string {
    switch (transport) {
      case "unix":
        return `unix://${this.socketPath}`;
      case "tcp":
        return `tcp://${this.address}:${PLAIN_PORT}`;
      case "tls":
        return `tcp://${this.address}:${TLS_PORT}`;
      case "ssh":
        return this.requireSsh().url;
    }
  }

  /** Environment for the docker CLI or k3box: DOCKER_HOST and what goes with it. */
  env(transport: Transport): NodeJS.ProcessEnv {
    const host = { DOCKER_HOST: this.host(transport) };
    if (transport === "tls") return { ...host, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: this.tls.clientDir };
    if (transport === "ssh") return { ...host, ...this.requireSsh().env };
    return host;
  }

  /** A dockerode client for the engine over the given transport. */
  docker(transport: Transport): Docker {
    switch (transport) {
      case "unix":
        return new Docker({ socketPath: this.socketPath });
      case "tcp":
        return new Docker({ protocol: "http", host: this.address, port: PLAIN_PORT });
      case "tls":
        return new Docker({
          protocol: "https",
          host: this.address,
          port: TLS_PORT,
          ...readCertPath(this.tls.clientDir),
        });
      case "ssh": {
        const ssh = this.requireSsh();
        return new Docker({ protocol: "ssh", host: this.address, port: 22, username: ssh.user, sshOptions: ssh.sshOptions });
      }
    }
  }

  private requireSsh(): SshAccess {
    if (!this.ssh) throw new Error("this engine was started without ssh");
    return this.ssh;
  }

  static async start(options: RemoteDockerOptions = {}): Promise<RemoteDockerEngine> {
    await sweepStaleEngines();
    const slot = await createNamespace();
    const dir = join(STATE_ROOT, `d${slot.index}-${randomBytes(3).toString("hex")}`);
    const record: NetnsDockerRecord = {
      kind: "netns-docker",
      owner: process.pid,
      dir,
      netns: slot.netns,
      cgroupParent: slot.netns,
    };
    try {
      await writeRecord(record);
    } catch (err) {
      await removeNamespace(slot.netns);
      throw err;
    }
    try {
      const engine = await RemoteDockerEngine.boot(record, slot, options);
      if (options.images?.length) await copyImages(new Docker(), engine.docker("unix"), options.images);
      return engine;
    } catch (err) {
      await teardownNetnsDocker(record);
      throw err;
    }
  }

  private static async boot(record: NetnsDockerRecord, slot: Slot, options: RemoteDockerOptions): Promise<RemoteDockerEngine> {
    const { dir } = record;
    const socketPath = join(dir, "docker.sock");
    const tls = await createEngineTls(join(dir, "tls"), slot.address);
    const config = join(dir, "daemon.json");
    await writeFile(
      config,
      JSON.stringify({
        runtimes: { capfix: { path: CAPFIX } },
        "default-runtime": "capfix",
        // Docker 20.10 derives the engine ID from this key; the default (/etc/docker/key.json) would
        // give both engines on this machine the same ID.
        "deprecated-key-path": join(dir, "key.json"),
      }),
      { mode: 0o600 },
    );
    const netns = `--net=/run/netns/${slot.netns}`;
    // nsenter, not `ip netns exec`: the latter remounts /sys, and dockerd then finds no cgroups.
    await startDaemon(
      "nsenter",
      [
        netns,
        "--",
        "dockerd",
        "--config-file",
        config,
        "--data-root",
        join(dir, "data"),
        "--exec-root",
        join(dir, "exec"),
        "--pidfile",
        join(dir, "docker.pid"),
        "--cgroup-parent",
        record.cgroupParent,
        "--bip",
        slot.bridgeCidr,
        "--default-address-pool",
        `base=${slot.poolBase},size=26`,
        "--shutdown-timeout",
        "2",
        "-H",
        `unix://${socketPath}`,
        "-H",
        `tcp://${slot.address}:${TLS_PORT}`,
        "--tlsverify",
        "--tlscacert",
        tls.ca,
        "--tlscert",
        tls.serverCert,
        "--tlskey",
        tls.serverKey,
      ],
      join(dir, "dockerd.log"),
    );
    const local = new Docker({ socketPath });
    await waitFor(
      `dockerd in ${slot.netns} (log: ${join(dir, "dockerd.log")})`,
      () =>
        local.ping().then(
          () => true,
          () => false,
        ),
      60_000,
      200,
    );
    await startDaemon(
      "nsenter",
      [netns, "--", process.execPath, FORWARDER, slot.address, String(PLAIN_PORT), socketPath],
      join(dir, "tcp-forward.log"),
    );
    const plain = new Docker({ protocol: "http", host: slot.address, port: PLAIN_PORT });
    await waitFor(
      `tcp://${slot.address}:${PLAIN_PORT}`,
      () =>
        plain.ping().then(
          () => true,
          () => false,
        ),
      10_000,
    );
    let ssh: SshAccess | undefined;
    if (options.ssh) {
      const sshDir = join(dir, "ssh");
      await mkdir(sshDir, { recursive: true, mode: 0o700 });
      ssh = await startSshd({ dir: sshDir, netns: slot.netns, address: slot.address, dockerSocket: socketPath });
    }
    return new RemoteDockerEngine(record, slot, socketPath, tls, ssh);
  }

  /** Removes the engine, its containers, namespace and files; safe to call more than once. */
  stop(): Promise<void> {
    this.stopped ??= teardownNetnsDocker(this.record);
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

function readCertPath(dir: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(join(dir, "ca.pem")),
    cert: readFileSync(join(dir, "cert.pem")),
    key: readFileSync(join(dir, "key.pem")),
  };
}
