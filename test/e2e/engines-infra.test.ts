/**
 * The test engines other than the local socket (test/support/engines): each comes up, serves a
 * published port where k3box would look for it, and goes away without a trace.
 */
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PodmanEngine, RemoteDockerEngine, netavarkRules, prerequisites } from "../support/engines/index.js";
import { docker as localCli, run, uniqueName } from "./helpers.js";

const pre = await prerequisites();
const skipped = (what: string, reason: string): string => (reason ? `${what} (skipped: ${reason})` : what);

interface Web {
  readonly name: string;
  readonly token: string;
  readonly port: number;
}

/** busybox httpd serving a random token, its port 80 published on `hostIp` at a free port. */
async function startWeb(engine: Docker, hostIp: string, network?: string, alias?: string): Promise<Web> {
  const name = uniqueName("k3box-engines-web");
  const token = randomBytes(8).toString("hex");
  const c = await engine.createContainer({
    name,
    Image: "busybox:latest",
    Env: [`TOKEN=${token}`],
    Cmd: ["sh", "-c", 'mkdir -p /www && echo "$TOKEN" > /www/index.html && exec httpd -f -p 80 -h /www'],
    ExposedPorts: { "80/tcp": {} },
    HostConfig: { PortBindings: { "80/tcp": [{ HostIp: hostIp, HostPort: "" }] }, ...(network ? { NetworkMode: network } : {}) },
    ...(network ? { NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: alias ? [alias] : [] } } } } : {}),
  });
  await c.start();
  const ports = (await c.inspect()).NetworkSettings.Ports["80/tcp"] ?? [];
  const port = Number(ports[0]?.HostPort);
  expect(port).toBeGreaterThan(0);
  return { name, token, port };
}

async function fetchText(url: string): Promise<string> {
  // httpd may take a moment to listen after the container starts
  for (let i = 0; ; i++) {
    try {
      return (await (await fetch(url, { signal: AbortSignal.timeout(3_000) })).text()).trim();
    } catch (err) {
      if (i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Runs busybox wget in a throwaway container on `engine`, returning what it printed. */
async function wgetFrom(engine: Docker, url: string, network?: string): Promise<string> {
  const c = await engine.createContainer({
    Image: "busybox:latest",
    // busybox wget -T crashes in this busybox build; timeout bounds it instead
    Cmd: ["timeout", "5", "wget", "-q", "-O", "-", url],
    HostConfig: network ? { NetworkMode: network } : {},
  });
  try {
    await c.start();
    await c.wait();
    const logs = (await c.logs({ stdout: true, stderr: true })) as Buffer;
    // multiplexed stream: 8-byte frame headers before each chunk
    let out = "";
    for (let i = 0; i + 8 <= logs.length; ) {
      const n = logs.readUInt32BE(i + 4);
      out += logs.subarray(i + 8, i + 8 + n).toString();
      i += 8 + n;
    }
    return out.trim();
  } finally {
    await c.remove({ force: true });
  }
}

async function gone(path: string): Promise<boolean> {
  return access(path).then(
    () => false,
    () => true,
  );
}

async function processesMentioning(text: string): Promise<string[]> {
  const r = await run("ps", ["-eo", "pid,args"]);
  return r.stdout.split("\n").filter((l) => l.includes(text) && !l.includes("ps -eo"));
}

describe.skipIf(!pre.netnsDocker.ok)(skipped("a second Docker engine in a network namespace", pre.netnsDocker.reason), () => {
  let engine: RemoteDockerEngine | undefined;
  const local = new Docker();
  const localContainers: string[] = [];

  beforeAll(async () => {
    engine = await RemoteDockerEngine.start({ ssh: pre.ssh.ok, images: ["busybox:latest"] });
  });

  afterAll(async () => {
    for (const c of localContainers)
      await local
        .getContainer(c)
        .remove({ force: true })
        .catch(() => undefined);
    await engine?.stop();
  });

  it("is one engine on its socket, plain TCP and TLS, and not the local one", async () => {
    const e = engine!;
    const ids = await Promise.all((["unix", "tcp", "tls"] as const).map(async (t) => (await e.docker(t).info()).ID as string));
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).not.toBe((await local.info()).ID);
    expect(e.host("tls")).toBe(`tcp://${e.address}:2376`);
    const cli = await run("docker", ["info", "--format", "{{.ID}}"], e.env("tls"));
    expect(cli.stdout.trim()).toBe(ids[0]);
  });

  it("refuses a TLS client without a certificate signed by its CA", async () => {
    const e = engine!;
    const anonymous = new Docker({
      protocol: "https",
      host: e.address,
      port: 2376,
      ca: await readFile(`${e.tls.clientDir}/ca.pem`),
    });
    await expect(anonymous.ping()).rejects.toThrow();
  });

  it("publishes ports on the namespace address, reached from this machine", async () => {
    const e = engine!;
    const web = await startWeb(e.docker("tcp"), e.address);
    expect(await fetchText(`http://${e.address}:${web.port}/`)).toBe(web.token);
  });

  it("lets its containers reach the local engine's ports published on the host address", async () => {
    const e = engine!;
    const web = await startWeb(local, e.hostAddress);
    localContainers.push(web.name);
    expect(await wgetFrom(e.docker("unix"), `http://${e.hostAddress}:${web.port}/`)).toBe(web.token);
  });

  it.skipIf(!pre.ssh.ok)(skipped("is reached over ssh by the docker CLI and by dockerode", pre.ssh.reason), async () => {
    const e = engine!;
    const id = (await e.docker("unix").info()).ID as string;
    const cli = await run("docker", ["info", "--format", "{{.ID}}"], e.env("ssh"));
    expect(cli.stderr).toBe("");
    expect(cli.stdout.trim()).toBe(id);
    expect((await e.docker("ssh").info()).ID).toBe(id);
  });

  it("leaves no namespace, process, cgroup or file behind when stopped", async () => {
    const e = engine!;
    const { dir, slot } = e;
    await e.stop();
    expect((await run("ip", ["netns", "list"])).stdout).not.toContain(slot.netns);
    expect((await run("ip", ["link", "show", slot.hostVeth])).code).not.toBe(0);
    expect(await gone(dir)).toBe(true);
    expect(await gone(`/sys/fs/cgroup/pids/${slot.netns}`)).toBe(true);
    expect(await processesMentioning(dir)).toEqual([]);
  });
});

describe.skipIf(!pre.podman.ok)(skipped("rootful Podman's Docker API", pre.podman.reason), () => {
  let podman: PodmanEngine | undefined;

  beforeAll(async () => {
    podman = await PodmanEngine.start({ images: ["busybox:latest"] });
  });

  afterAll(async () => {
    await podman?.stop();
  });

  it("says it is Podman in /version", async () => {
    const v = await podman!.docker().version();
    expect(v.Components?.map((c) => c.Name)).toContain("Podman Engine");
  });

  it("publishes ports on 127.0.0.1 and resolves container names and aliases on a user network", async () => {
    const api = podman!.docker();
    const network = uniqueName("k3box-engines-net");
    await api.createNetwork({ Name: network, Driver: "bridge" });
    const web = await startWeb(api, "127.0.0.1", network, "web-alias");
    expect(await fetchText(`http://127.0.0.1:${web.port}/`)).toBe(web.token);
    expect(await wgetFrom(api, `http://${web.name}/`, network)).toBe(web.token);
    expect(await wgetFrom(api, "http://web-alias/", network)).toBe(web.token);
    // The local engine is untouched: the container exists only in Podman.
    expect((await localCli(["inspect", web.name])).code).not.toBe(0);
  });

  it("leaves no process, file or netavark rule behind when stopped", async () => {
    const p = podman!;
    await p.stop();
    expect(await gone(p.dir)).toBe(true);
    expect(await processesMentioning(p.dir)).toEqual([]);
    const otherPodman = (await processesMentioning("podman system service")).length > 0;
    if (!otherPodman) expect(await netavarkRules()).toEqual([]);
  });
});
