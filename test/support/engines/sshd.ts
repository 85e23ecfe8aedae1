/**
 * An OpenSSH server in a test namespace, so that ssh://root@<address> reaches its Docker engine
 * as it would a remote host, and the client side a test needs: a key, known_hosts, a config.
 *
 * OpenSSH takes ~/.ssh from the passwd entry, not from $HOME, so a temporary HOME alone does not
 * point the ssh client at this config. The docker CLI runs `ssh` from PATH; `bin/ssh` in the
 * temporary HOME adds `-F <config>`, and `env` puts it first on PATH.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ConnectConfig } from "ssh2";
import { commandOk, startDaemon, waitFor } from "./processes.js";
import { connect } from "node:net";

export interface SshAccess {
  /** DOCKER_HOST for this engine over ssh. */
  readonly url: string;
  readonly address: string;
  readonly user: string;
  readonly home: string;
  readonly privateKeyPath: string;
  readonly knownHostsPath: string;
  readonly configPath: string;
  /** The server's public host key, "ssh-ed25519 AAAA…". */
  readonly hostKey: string;
  /** HOME and PATH for the docker CLI (or anything else that runs `ssh`). */
  readonly env: NodeJS.ProcessEnv;
  /** For dockerode: `new Docker({ protocol: "ssh", host, port, username, sshOptions })`. */
  readonly sshOptions: ConnectConfig;
  readonly pid: number;
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function startSshd(opts: { dir: string; netns: string; address: string; dockerSocket: string }): Promise<SshAccess> {
  const { dir, netns, address } = opts;
  if (dir.includes("'")) throw new Error(`unexpected quote in ${dir}`);
  const serverDir = join(dir, "server");
  const home = join(dir, "home");
  const dotSsh = join(home, ".ssh");
  await mkdir(serverDir, { recursive: true, mode: 0o700 });
  await mkdir(dotSsh, { recursive: true, mode: 0o700 });
  await mkdir(join(home, "bin"), { recursive: true, mode: 0o700 });
  // sshd's privilege separation folder; Debian's package makes it at boot, a machine without systemd may lack it.
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });

  const hostKeyPath = join(serverDir, "host_ed25519");
  const privateKeyPath = join(dotSsh, "id_ed25519");
  await commandOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "k3box-test-host", "-f", hostKeyPath]);
  await commandOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "k3box-test-client", "-f", privateKeyPath]);
  const hostKey = (await readFile(`${hostKeyPath}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
  const authorizedKeys = join(serverDir, "authorized_keys");
  await writeFile(authorizedKeys, await readFile(`${privateKeyPath}.pub`, "utf8"), { mode: 0o600 });

  const sshdConfig = join(serverDir, "sshd_config");
  await writeFile(
    sshdConfig,
    [
      `ListenAddress ${address}:22`,
      `HostKey ${hostKeyPath}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${join(serverDir, "sshd.pid")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // The keys live under /tmp, which is world-writable; the folders themselves are 0700.
      "StrictModes no",
      // The remote `docker system dial-stdio` must reach this namespace's engine, not the machine's default socket.
      `SetEnv DOCKER_HOST=unix://${opts.dockerSocket}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );

  const knownHostsPath = join(dotSsh, "known_hosts");
  await writeFile(knownHostsPath, `${address} ${hostKey}\n`, { mode: 0o600 });
  const configPath = join(dotSsh, "config");
  await writeFile(
    configPath,
    [
      `Host ${address}`,
      "  User root",
      `  IdentityFile ${privateKeyPath}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${knownHostsPath}`,
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  await writeFile(join(home, "bin", "ssh"), `#!/bin/sh\nexec /usr/bin/ssh -F '${configPath}' "$@"\n`, { mode: 0o700 });

  const pid = await startDaemon(
    "nsenter",
    [`--net=/run/netns/${netns}`, "--", "/usr/sbin/sshd", "-D", "-e", "-f", sshdConfig],
    join(serverDir, "sshd.log"),
  );
  await waitFor(`sshd on ${address}:22`, () => portOpen(address, 22), 10_000);

  const privateKey = await readFile(privateKeyPath);
  const expected = hostKey.split(" ")[1];
  return {
    url: `ssh://root@${address}`,
    address,
    user: "root",
    home,
    privateKeyPath,
    knownHostsPath,
    configPath,
    hostKey,
    env: { HOME: home, PATH: `${join(home, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}` },
    // ssh2 checks no host key unless told to; this pins the one generated above.
    sshOptions: { privateKey, hostVerifier: (key: Buffer) => key.toString("base64") === expected },
    pid,
  };
}
