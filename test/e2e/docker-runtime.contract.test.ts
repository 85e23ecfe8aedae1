import { setTimeout as sleep } from "node:timers/promises";
import { DockerRuntime } from "../../src/runtime/docker/runtime.js";
import { runtimeContract } from "../support/runtime-contract.js";
import { docker } from "./helpers.js";

/** Docker runs the contract's busybox processes and commands for real; nothing is scripted. */
runtimeContract("Docker engine", ({ prefix, labels }) => {
  const runtime = new DockerRuntime();
  const registryName = `${prefix}-registry`;
  let registry: Promise<{ pullable: string; missing: string }> | undefined;

  /** A registry:2 on a free loopback port, holding busybox under a name of this run. */
  async function startRegistry(): Promise<{ pullable: string; missing: string }> {
    await runtime.createContainer({
      name: registryName,
      image: "registry:2",
      labels,
      network: "bridge",
      ports: [{ containerPort: 5000, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 }],
    });
    await runtime.startContainer(registryName);
    const port = (await runtime.inspectContainer(registryName))?.ports[0]?.hostPort;
    const repo = `127.0.0.1:${port}/k3box-test/${prefix}`;
    const pullable = `${repo}-pulled:1`;
    await docker(["tag", "busybox:latest", pullable]);
    try {
      // The registry takes a moment to listen.
      for (let attempt = 1; ; attempt++) {
        const pushed = await docker(["push", pullable]);
        if (pushed.code === 0) break;
        if (attempt === 50) throw new Error(`docker push ${pullable}: ${pushed.stderr}`);
        await sleep(200);
      }
    } finally {
      await docker(["rmi", pullable]);
    }
    return { pullable, missing: `${repo}-missing:1` };
  }

  async function removeAll(kind: "container" | "network" | "volume", list: readonly string[], remove: readonly string[]) {
    const found = await docker(list);
    const names = found.stdout
      .split("\n")
      .map((s) => s.trim())
      .filter((s) => s.startsWith(prefix));
    if (names.length > 0) await docker([kind, ...remove, ...names]);
  }

  return {
    runtime,
    image: "busybox:latest",
    async resolve(from, name) {
      const r = await runtime.exec(from, ["nslookup", name]);
      // The answer's "Address: x" lines; the server's own line has a tab and a port.
      return [...new Set([...r.stdout.matchAll(/^Address: ([\d.]+)$/gm)].map((m) => m[1] as string))];
    },
    registry: () => (registry ??= startRegistry()),
    async removeImage(ref) {
      await docker(["rmi", ref]);
    },
    async cleanup() {
      await removeAll("container", ["ps", "-a", "--format", "{{.Names}}", "--filter", `name=${prefix}`], ["rm", "-f", "-v"]);
      await removeAll("network", ["network", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`], ["rm"]);
      await removeAll("volume", ["volume", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`], ["rm", "-f"]);
      const images = await docker(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
      const ours = images.stdout.split("\n").filter((ref) => ref.includes(`k3box-test/${prefix}`));
      if (ours.length > 0) await docker(["rmi", "-f", ...ours]);
    },
  };
});
