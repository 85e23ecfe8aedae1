/** What each test engine needs on this machine, so tests can skip with the reason instead of failing. */
import Docker from "dockerode";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { which } from "./processes.js";

export interface Availability {
  readonly ok: boolean;
  /** Why not, naming what is missing and how to get it. */
  readonly reason: string;
}

export interface Prerequisites {
  /** A second dockerd in a network namespace (tcp:// and tcp+TLS). */
  readonly netnsDocker: Availability;
  /** ssh:// to that engine. */
  readonly ssh: Availability;
  readonly podman: Availability;
}

async function missingCommands(cmds: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const c of cmds) if (!(await which(c))) missing.push(c);
  return missing;
}

async function missingFiles(paths: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of paths) {
    await access(p, constants.X_OK).catch(() => missing.push(p));
  }
  return missing;
}

function availability(problems: readonly string[]): Availability {
  return problems.length === 0 ? { ok: true, reason: "" } : { ok: false, reason: problems.join("; ") };
}

export async function prerequisites(): Promise<Prerequisites> {
  const base: string[] = [];
  if (process.getuid?.() !== 0) base.push("needs root (network namespaces, a second dockerd)");
  const localUp = await new Docker().ping().then(
    () => true,
    () => false,
  );
  if (!localUp) base.push("the local Docker engine does not answer (run ../shared/testenv/docker-up)");
  const cmds = await missingCommands(["ip", "nsenter", "iptables", "dockerd", "containerd", "runc"]);
  if (cmds.length) base.push(`missing commands: ${cmds.join(", ")} (apt-get install iproute2 util-linux iptables docker.io)`);
  const capfix = await missingFiles(["/usr/local/bin/runc-capfix"]);
  if (capfix.length) base.push("missing /usr/local/bin/runc-capfix (installed by ../shared/testenv/docker-up)");

  const sshCmds = await missingCommands(["sshd", "ssh", "ssh-keygen"]);
  const ssh = sshCmds.length ? [`missing ${sshCmds.join(", ")} (apt-get install openssh-server openssh-client)`] : [];

  const podman: string[] = [];
  if (process.getuid?.() !== 0) podman.push("needs root (rootful podman)");
  if (!localUp) podman.push("the local Docker engine does not answer; its images seed Podman");
  const podmanCmds = await missingCommands(["podman", "conmon", "runc", "iptables"]);
  if (podmanCmds.length) podman.push(`missing ${podmanCmds.join(", ")} (apt-get install podman)`);
  const netavark = await missingFiles(["/usr/lib/podman/netavark", "/usr/lib/podman/aardvark-dns"]);
  if (netavark.length) podman.push(`missing ${netavark.join(", ")} (apt-get install netavark aardvark-dns)`);

  return {
    netnsDocker: availability(base),
    ssh: availability([...base, ...ssh]),
    podman: availability(podman),
  };
}
