/**
 * Which engine k3box talks to (the docker CLI's order of --engine, K3BOX_ENGINE, DOCKER_HOST,
 * DOCKER_CONTEXT and the current context), where it runs, and what a create does with an engine
 * on another host: publish there, ask that engine for free ports, name its address in the kubeconfig.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, RuntimeUnavailableError, UsageError } from "../../src/base/errors.js";
import { run } from "../../src/cli/program.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { createCluster } from "../../src/core/operations/create.js";
import { endpointOf } from "../../src/core/registry/addresses.js";
import { registryNodeFiles } from "../../src/core/registry/files.js";
import { placeOf } from "../../src/runtime/docker/connect.js";
import { resolveEndpoint } from "../../src/runtime/docker/endpoint.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";
import { answerProbes } from "../support/probe.js";
import { K3S_KUBECONFIG } from "./k3s-kubeconfig-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "k3box-endpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Docker config folder with contexts as `docker context create` writes them. */
function dockerConfig(contexts: Record<string, { host: string; tls?: boolean; skipVerify?: boolean }>, current?: string): string {
  const config = mkdtempSync(join(dir, "docker-"));
  for (const [name, c] of Object.entries(contexts)) {
    const id = createHash("sha256").update(name).digest("hex");
    mkdirSync(join(config, "contexts", "meta", id), { recursive: true });
    const meta = { Name: name, Metadata: {}, Endpoints: { docker: { Host: c.host, SkipTLSVerify: c.skipVerify ?? false } } };
    writeFileSync(join(config, "contexts", "meta", id, "meta.json"), JSON.stringify(meta));
    if (c.tls) {
      const tls = join(config, "contexts", "tls", id, "docker");
      mkdirSync(tls, { recursive: true });
      for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(tls, f), f);
    }
  }
  if (current !== undefined) writeFileSync(join(config, "config.json"), JSON.stringify({ currentContext: current }));
  return config;
}

describe("choosing the engine", () => {
  const DOCKER_CONFIG = dockerConfig(
    { remote: { host: "tcp://198.51.100.7:2376", tls: true }, viaSsh: { host: "ssh://root@198.51.100.8" } },
    "viaSsh",
  );

  it("takes the local socket when nothing names another", () => {
    const e = resolveEndpoint(undefined, { DOCKER_CONFIG: mkdtempSync(join(dir, "empty-")) });
    expect(e.host).toBe("unix:///var/run/docker.sock");
    expect(e.reason).toMatch(/^the local socket/);
  });

  it("follows the docker CLI's order: --engine, K3BOX_ENGINE, DOCKER_HOST, DOCKER_CONTEXT, the current context", () => {
    const env = {
      DOCKER_CONFIG,
      K3BOX_ENGINE: "tcp://198.51.100.9:2375",
      DOCKER_HOST: "unix:///run/other.sock",
      DOCKER_CONTEXT: "remote",
    };
    expect(resolveEndpoint({ value: "remote", from: "--engine" }, env)).toMatchObject({
      host: "tcp://198.51.100.7:2376",
      context: "remote",
      reason: '--engine (Docker context "remote")',
    });
    expect(resolveEndpoint(undefined, env)).toMatchObject({ host: "tcp://198.51.100.9:2375", reason: "K3BOX_ENGINE" });
    const { K3BOX_ENGINE: _, ...noK3box } = env;
    expect(resolveEndpoint(undefined, noK3box)).toMatchObject({ host: "unix:///run/other.sock", reason: "DOCKER_HOST" });
    const { DOCKER_HOST: __, ...noHost } = noK3box;
    expect(resolveEndpoint(undefined, noHost)).toMatchObject({
      host: "tcp://198.51.100.7:2376",
      reason: 'DOCKER_CONTEXT (Docker context "remote")',
    });
    const { DOCKER_CONTEXT: ___, ...onlyConfig } = noHost;
    const current = resolveEndpoint(undefined, onlyConfig);
    expect(current).toMatchObject({ host: "ssh://root@198.51.100.8", context: "viaSsh" });
    expect(current.reason).toMatch(/^the current Docker context "viaSsh"/);
    expect(current.tls).toBeUndefined();
    expect(resolveEndpoint(undefined, { ...onlyConfig, DOCKER_CONTEXT: "default" }).host).toBe("unix:///var/run/docker.sock");
  });

  it("uses a context's TLS files, and DOCKER_CERT_PATH's for a tcp:// DOCKER_HOST with DOCKER_TLS_VERIFY", () => {
    const ctx = resolveEndpoint({ value: "remote", from: "--engine" }, { DOCKER_CONFIG });
    expect(ctx.tls?.verify).toBe(true);
    expect(ctx.tls?.ca).toMatch(/contexts\/tls\/[0-9a-f]{64}\/docker\/ca\.pem$/);
    expect(ctx.tls?.cert).toMatch(/cert\.pem$/);
    expect(ctx.tls?.key).toMatch(/key\.pem$/);
    const certs = mkdtempSync(join(dir, "certs-"));
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(certs, f), f);
    const env = { DOCKER_CONFIG, DOCKER_HOST: "tcp://198.51.100.7:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs };
    expect(resolveEndpoint(undefined, env).tls).toEqual({
      ca: join(certs, "ca.pem"),
      cert: join(certs, "cert.pem"),
      key: join(certs, "key.pem"),
      verify: true,
    });
    // DOCKER_TLS alone encrypts without checking the engine's certificate.
    expect(
      resolveEndpoint(undefined, { DOCKER_CONFIG, DOCKER_HOST: "tcp://h:2376", DOCKER_TLS: "1", DOCKER_CERT_PATH: certs }).tls
        ?.verify,
    ).toBe(false);
    expect(resolveEndpoint(undefined, { DOCKER_CONFIG, DOCKER_HOST: "tcp://h:2375" }).tls).toBeUndefined();
  });

  it("refuses an unknown context and an address it cannot use, naming them (exit 3)", () => {
    const unknown = () => resolveEndpoint({ value: "nope", from: "--engine" }, { DOCKER_CONFIG });
    expect(unknown).toThrow(RuntimeUnavailableError);
    expect(unknown).toThrow(/Docker context "nope".*context not found/);
    const bad = () => resolveEndpoint(undefined, { DOCKER_CONFIG, DOCKER_HOST: "ftp://h" });
    expect(bad).toThrow(RuntimeUnavailableError);
    expect(bad).toThrow(/DOCKER_HOST=ftp:\/\/h: unsupported scheme "ftp"/);
    // A bare host is tcp, as for the docker CLI.
    expect(resolveEndpoint(undefined, { DOCKER_CONFIG, DOCKER_HOST: "198.51.100.7:2375" }).host).toBe("tcp://198.51.100.7:2375");
  });
});

describe("where the engine runs", () => {
  const place = (host: string) => placeOf({ host, reason: "test", name: host });

  it("is here for a socket, loopback or an address of this machine, elsewhere for any other host", async () => {
    expect((await place("unix:///var/run/docker.sock")).remote).toBeUndefined();
    expect((await place("tcp://127.0.0.1:2375")).remote).toBeUndefined();
    expect((await place("tcp://localhost:2375")).remote).toBeUndefined();
    expect((await place("tcp://198.51.100.7:2376")).remote).toEqual({ host: "198.51.100.7", address: "198.51.100.7" });
    expect((await place("tcp://198.51.100.7:2376")).endpoint).toBe("tcp://198.51.100.7:2376");
  });

  it("says so when an engine's host name does not resolve here", async () => {
    await expect(place("tcp://no-such-host.invalid:2375")).rejects.toThrow(/no-such-host\.invalid does not resolve/);
  });
});

describe("a cluster on an engine elsewhere (in-memory engine playing one)", () => {
  const IMAGE = "rancher/k3s:v1.35.5-k3s1";
  const ADDRESS = "198.51.100.7";
  const engine = () => {
    const runtime = new MemoryRuntime({ images: { [IMAGE]: {} }, remote: { host: "engine.example", address: ADDRESS } });
    answerProbes(runtime);
    runtime.program(/-server-\d+$/, (p) =>
      p.files.write({ path: "/output/kubeconfig.yaml", content: K3S_KUBECONFIG, mode: 0o600 }),
    );
    return runtime;
  };
  const input = { name: "far", image: IMAGE, wait: false, loadBalancer: false, ports: ["8080@server:0"] };

  it("publishes the API and ports on the engine's address, with ports the engine chose, and names that address in the kubeconfig", async () => {
    const runtime = engine();
    const kubeconfigPath = join(dir, "far-config");
    const created = await createCluster(input, { runtime, kubeconfigPath });
    const server = await runtime.inspectContainer("k3box-far-server-0");
    const api = server?.ports.find((p) => p.containerPort === 6443);
    expect(api?.hostIp).toBe(ADDRESS);
    expect(created.server).toBe(`https://${ADDRESS}:${api?.hostPort}`);
    expect(created.kubeconfig).toContain(`server: https://${ADDRESS}:${api?.hostPort}`);
    const port = server?.ports.find((p) => p.containerPort === 8080);
    expect(port?.hostIp).toBe(ADDRESS);
    expect(created.ports.map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort }))).toEqual([
      { hostIp: ADDRESS, hostPort: port?.hostPort },
    ]);
    // The server certificate names the address clients use.
    expect(server?.cmd.join(" ")).toContain(`--tls-san ${ADDRESS}`);
    // The throwaway container that asked the engine for ports is gone.
    expect((await runtime.listContainers({})).map((c) => c.name).sort()).toEqual(["k3box-far-server-0"]);
  });

  it("fails with a conflict when a port asked for is in use on the engine's host, and leaves nothing", async () => {
    const runtime = engine();
    await runtime.createContainer({
      name: "squatter",
      image: IMAGE,
      network: "bridge",
      labels: {},
      ports: [{ containerPort: 1, protocol: "tcp", hostIp: ADDRESS, hostPort: 16443 }],
    });
    await runtime.startContainer("squatter");
    await expect(
      createCluster({ ...input, apiPort: `${ADDRESS}:16443` }, { runtime, kubeconfigPath: join(dir, "clash-config") }),
    ).rejects.toThrow(ConflictError);
    await expect(
      createCluster({ ...input, apiPort: `${ADDRESS}:16443` }, { runtime, kubeconfigPath: join(dir, "clash-config") }),
    ).rejects.toThrow(
      /--api-port \(198\.51\.100\.7:16443\).*in use on the engine's host|in use on the engine's host.*--api-port/,
    );
    expect((await runtime.listContainers({})).map((c) => c.name)).toEqual(["squatter"]);
    expect(await runtime.listVolumes({})).toEqual([]);
  });

  it("names the server --kubeconfig-server gives, and refuses one that is not https://HOST[:PORT]", async () => {
    const runtime = engine();
    const created = await createCluster(
      { ...input, name: "tunnel", kubeconfigServer: "https://api.example:7443" },
      { runtime, kubeconfigPath: join(dir, "tunnel-config") },
    );
    expect(created.server).toBe("https://api.example:7443");
    const server = await runtime.inspectContainer("k3box-tunnel-server-0");
    expect(server?.cmd.join(" ")).toContain("--tls-san api.example");
    await expect(
      createCluster({ ...input, name: "bad", kubeconfigServer: "http://x:1" }, { runtime, kubeconfigPath: join(dir, "bad") }),
    ).rejects.toThrow(UsageError);
  });
});

describe("a registry created with a cluster on an engine elsewhere", () => {
  it("is published on the engine's address, and the nodes' local-registry-hosting names that address for pushes from here", async () => {
    const ADDRESS = "198.51.100.7";
    const spec = await buildClusterSpec({ name: "far", registryCreate: "reg" }, { remoteAddress: ADDRESS });
    expect(spec.registries.create?.hostIp).toBe(ADDRESS);
    const files = registryNodeFiles([endpointOf("reg", spec.registries.create?.hostIp as string, 5050)], undefined);
    const hosting = files.find((f) => f.destination.endsWith("local-registry-hosting.yaml"));
    expect(hosting?.content).toContain(`host: ${ADDRESS}:5050`);
    expect(hosting?.content).not.toContain("localhost:5050");
  });
});

describe("the engine on the command line", () => {
  function streams() {
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = "";
    err.on("data", (b: Buffer) => (stderr += b.toString()));
    out.resume();
    return {
      streams: { stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream },
      stderr: () => stderr,
    };
  }
  const saved = {
    DOCKER_CONFIG: process.env.DOCKER_CONFIG,
    DOCKER_HOST: process.env.DOCKER_HOST,
    K3BOX_ENGINE: process.env.K3BOX_ENGINE,
  };
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("takes --engine over a config file's engine:, and the file's over DOCKER_HOST; an unknown context is exit 3", async () => {
    process.env.DOCKER_CONFIG = mkdtempSync(join(dir, "cli-docker-"));
    process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock";
    delete process.env.K3BOX_ENGINE;
    const config = join(dir, "engine.yaml");
    writeFileSync(config, "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\nengine: from-file\n");
    const signal = new AbortController().signal;
    const byFile = streams();
    expect(await run(["cluster", "create", "x", "--config", config, "--dry-run"], byFile.streams, signal)).toBe(3);
    expect(byFile.stderr()).toContain('Docker context "from-file"');
    const byFlag = streams();
    expect(
      await run(["--engine", "from-flag", "cluster", "create", "x", "--config", config, "--dry-run"], byFlag.streams, signal),
    ).toBe(3);
    expect(byFlag.stderr()).toContain('Docker context "from-flag"');
    expect(byFlag.stderr()).not.toContain("from-file");
  });
});
