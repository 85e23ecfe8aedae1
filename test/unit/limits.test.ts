/**
 * The documented limits (README "Limits") and the checks made before anything exists, as the
 * library sees them: every bound is enforced in core, so library callers get it too.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { KubeconfigError, NotFoundError, RuntimeUnavailableError, UsageError } from "../../src/base/errors.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { toTimeoutMs } from "../../src/core/cluster-spec/duration.js";
import { loadConfig, readConfigSource } from "../../src/core/config/load.js";
import { resolveClusterInput } from "../../src/core/config/resolve.js";
import { checkKubeconfigUpdatable } from "../../src/core/kubeconfig/index.js";
import { LIMITS } from "../../src/core/limits.js";
import { createNodes, stopNodes } from "../../src/core/operations/nodes.js";
import { parseRegistriesYaml } from "../../src/core/registry/config.js";
import type { Runtime } from "../../src/runtime/types.js";
import { engineAddressProblem } from "../../src/runtime/docker/endpoint.js";
import { mapPullError } from "../../src/runtime/docker/errors.js";

const HEADER = "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\n";
const dir = mkdtempSync(join(tmpdir(), "k3box-limits-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: Error) => e,
  );
}

/** A config file through the whole pipeline of `config validate`: read, load, layer, build. */
async function validate(path: string): Promise<Error> {
  return rejection(
    (async () => {
      const loaded = loadConfig(await readConfigSource(path), {});
      const { input, build } = resolveClusterInput({ flags: {}, file: loaded });
      return buildClusterSpec(input, build);
    })(),
  );
}

/** Any engine call fails the test: these checks come before the engine. */
const noEngine = new Proxy({} as Runtime, {
  get: (_, key) => () => Promise.reject(new Error(`engine called: ${String(key)}`)),
});

describe("node counts", () => {
  it.each([
    [{ servers: 1e9 }, 'invalid server count "1000000000": use 1 to 99'],
    [{ servers: 0 }, 'invalid server count "0": use 1 to 99'],
    [{ servers: 100 }, 'invalid server count "100": use 1 to 99'],
    [{ agents: 99_999_999 }, 'invalid agent count "99999999": use 0 to 999'],
    [{ agents: -3 }, 'invalid agent count "-3": use 0 to 999'],
    [{ agents: 2.5 }, 'invalid agent count "2.5": use 0 to 999'],
    [{ servers: 99, agents: 950 }, "too many nodes: 99 servers and 950 agents make 1049; a cluster holds at most 1000"],
  ])("%o is refused at once: %s", async (input, message) => {
    const started = Date.now();
    const err = await rejection(buildClusterSpec({ ...input, files: [{ content: "x", destination: "/x" }] }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(message);
    // Far from the minutes (and the heap) a walk over a billion nodes would take.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("takes the largest cluster the limits allow", async () => {
    const spec = await buildClusterSpec({ servers: LIMITS.servers, agents: LIMITS.nodes - LIMITS.servers });
    expect(spec.servers + spec.agents).toBe(LIMITS.nodes);
  });

  it("config validate reports a huge server count and a negative agent count together", async () => {
    const err = await validate(file("counts.yaml", `${HEADER}servers: 1e9\nagents: -3\n`));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('counts.yaml:3:10: servers: invalid server count "1000000000": use 1 to 99');
    expect(err.message).toContain("counts.yaml:4:9: agents: must be at least 0, got -3");
  });

  it("node create refuses more replicas than a cluster holds, before the engine", async () => {
    const err = await rejection(createNodes({ cluster: "dev", replicas: 100_000 }, { runtime: noEngine }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('invalid replicas "100000": use 1 to 1000');
  });
});

describe("deadlines", () => {
  it.each([
    ["99999999h", 'invalid timeout "99999999h": use at most 24h'],
    ["25h", 'invalid timeout "25h": use at most 24h'],
    [1e12, 'invalid timeout "1000000000000": use at most 24h'],
    [-5, 'invalid timeout "-5": use at most 24h'],
    [Number.NaN, 'invalid timeout "NaN": use at most 24h'],
  ])("%s is refused", (value, message) => {
    expect(() => toTimeoutMs(value)).toThrow(message);
  });

  it("takes 24h, and 0 as none", () => {
    expect(toTimeoutMs("24h")).toBe(LIMITS.timeoutMs);
    expect(toTimeoutMs("0")).toBeUndefined();
    expect(toTimeoutMs(0)).toBeUndefined();
  });

  it("a create with too long a timeout is refused with the other problems", async () => {
    const err = await rejection(buildClusterSpec({ timeout: "99999999h", agents: -1 }));
    expect(err.message.split("\n")).toEqual([
      'invalid agent count "-1": use 0 to 999',
      'invalid timeout "99999999h": use at most 24h',
    ]);
  });

  it("a node stop timeout is bounded too", async () => {
    const err = await rejection(stopNodes(["k3box-x-agent-0"], { runtime: noEngine, stopTimeoutSeconds: 1e20 }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('invalid stop timeout "100000000000000000000": use 0 to 86400 seconds');
  });
});

describe("YAML files", () => {
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
    "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
  ].join("\n");

  it("an alias bomb is a usage error naming the file, not a crash", async () => {
    const err = await validate(file("bomb.yaml", `${HEADER}${bomb}\n`));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(`${join(dir, "bomb.yaml")}: its aliases expand to too much data (at most 100 alias expansions)`);
  });

  it.each([
    ["flow", `${HEADER}ports: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`],
    ["block", `${HEADER}${Array.from({ length: 1000 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")} 1\n`],
  ])("%s nesting far too deep is refused at the line it passes the limit", async (_, text) => {
    const path = file("deep.yaml", text);
    const err = await validate(path);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(new RegExp(`^${path}:\\d+:\\d+: nested deeper than 64 levels$`));
  });

  it("takes nesting up to the limit", async () => {
    const nested = `${"[".repeat(LIMITS.yamlDepth - 1)}${"]".repeat(LIMITS.yamlDepth - 1)}`;
    const loaded = loadConfig(await readConfigSource(file("ok.yaml", `${HEADER}x-deep: ${nested}\n`)), {});
    expect(loaded.problems.join("\n")).toContain('unknown field "x-deep"');
  });

  it("a file or stdin over 1 MiB is refused without reading it all", async () => {
    const big = file("big.yaml", `${HEADER}#${"x".repeat(LIMITS.yamlBytes)}\n`);
    expect((await validate(big)).message).toBe(`${big} is larger than 1 MiB`);
    expect((await rejection(readConfigSource("/dev/zero"))).message).toBe("/dev/zero is larger than 1 MiB");
    const stdin = new PassThrough();
    const reading = rejection(readConfigSource("-", stdin));
    for (let i = 0; i < 3; i++) stdin.write(Buffer.alloc(512 * 1024, 0x61));
    expect((await reading).message).toBe("<stdin> is larger than 1 MiB");
  });

  it("registries.yaml has the same bounds", () => {
    expect(() => parseRegistriesYaml(`mirrors: ${"[".repeat(5000)}${"]".repeat(5000)}`, "reg.yaml")).toThrow(
      /^reg\.yaml:1:\d+: nested deeper than 64 levels$/,
    );
  });
});

describe("checks before anything exists", () => {
  it.each([
    ["host", 'network "host" cannot hold k3s nodes: the nodes would share the host\'s network and ports'],
    ["none", 'network "none" cannot hold k3s nodes: the nodes would have no network'],
  ])("network %s is refused", async (network, message) => {
    const err = await rejection(buildClusterSpec({ network }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(message);
  });

  it.each(["Rancher/k3s:v1", "rancher/K3S", "-rancher/k3s", "rancher//k3s", "rancher/k3s:", "a".repeat(400)])(
    "image reference %j is refused",
    async (image) => {
      const err = await rejection(buildClusterSpec({ image }));
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toContain(`invalid image "${image}"`);
    },
  );

  it.each([
    "rancher/k3s",
    "docker.io/rancher/k3s:v1.35.5-k3s1",
    "localhost:5000/k3s:Dev_1",
    "Registry.Example:5000/k3s",
    `rancher/k3s@sha256:${"a".repeat(64)}`,
  ])("image reference %j is taken", async (image) => {
    expect((await buildClusterSpec({ image })).image).toBe(image);
  });

  describe("the kubeconfig file a create will update", () => {
    it("is a directory: refused, naming it", async () => {
      const path = join(dir, "kc-dir");
      mkdirSync(path);
      const err = await rejection(checkKubeconfigUpdatable(path));
      expect(err).toBeInstanceOf(KubeconfigError);
      expect(err.message).toBe(`cannot use ${path}: it is a directory`);
    });

    it("cannot be parsed: refused, naming it and the line", async () => {
      const path = file("kc-bad", "clusters: [\n");
      const err = await rejection(checkKubeconfigUpdatable(path));
      expect(err).toBeInstanceOf(KubeconfigError);
      expect(err.message).toMatch(new RegExp(`^${path}:\\d+:\\d+: cannot parse kubeconfig`));
    });

    it("lies under a file: refused", async () => {
      const parent = file("kc-parent", "");
      const err = await rejection(checkKubeconfigUpdatable(join(parent, "sub", "config")));
      expect(err).toBeInstanceOf(KubeconfigError);
      expect(err.message).toContain(join(parent, "sub", "config"));
      expect(err.message).toContain("not a directory");
    });

    it("does not exist yet, in directories still to be made: fine", async () => {
      await checkKubeconfigUpdatable(join(dir, "new", "deeper", "config"));
    });

    it.skipIf(process.getuid?.() === 0)("sits in a directory we cannot write: refused", async () => {
      const ro = join(dir, "ro");
      mkdirSync(ro);
      chmodSync(ro, 0o555);
      const err = await rejection(checkKubeconfigUpdatable(join(ro, "config")));
      expect(err.message).toBe(`cannot write ${join(ro, "config")}: directory ${ro} is not writable`);
    });
  });
});

describe("engine answers", () => {
  it.each([
    ["garbage://x", 'unsupported scheme "garbage" (use unix://, tcp://, ssh:// or npipe://)'],
    ["tcp://[bad", "it is not an address"],
    ["fd://", "fd:// works only for the Docker daemon itself"],
  ])("DOCKER_HOST=%s cannot name an engine: %s", (host, why) => {
    expect(engineAddressProblem(host)).toBe(why);
  });

  it.each(["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "ssh://me@host", "localhost:2375"])(
    "DOCKER_HOST=%s is an address",
    (host) => {
      expect(engineAddressProblem(host)).toBeUndefined();
    },
  );

  it.each([
    "(HTTP code 500) server error - pull access denied for rancher/nope, repository does not exist or may require 'docker login'",
    '(HTTP code 500) server error - Get "https://nope.invalid/v2/": dial tcp: lookup nope.invalid: no such host',
    "(HTTP code 500) server error - manifest for x:1 not found: manifest unknown",
  ])("a pull that finds no image is not found: %s", (message) => {
    const err = mapPullError(Object.assign(new Error(message), { statusCode: 500, json: null }), "pull image x");
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(`pull image x: ${message.replace(/^\(HTTP code 500\) server error - /, "")}`);
  });

  it("other pull failures keep their kind", () => {
    const err = mapPullError(
      Object.assign(new Error("x"), { statusCode: 500, json: { message: "no space left on device" } }),
      "pull",
    );
    expect(err).not.toBeInstanceOf(NotFoundError);
    expect(err.message).toBe("pull: no space left on device");
    expect(mapPullError(Object.assign(new Error("connect"), { code: "ENOTFOUND" }), "pull")).toBeInstanceOf(
      RuntimeUnavailableError,
    );
  });
});
