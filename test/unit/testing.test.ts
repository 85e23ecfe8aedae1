import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/base/errors.js";
import { readManifests } from "../../src/core/kube/manifests.js";
import { K3BOX, K3D } from "../../src/core/dialect.js";
import { canonical, reusableCluster, specHash } from "../../src/testing/reuse.js";
import type { ContainerInfo } from "../../src/runtime/types.js";
import { engineSocket, reaperWanted } from "../../src/testing/session.js";

describe("reuse: the hash of a fixture's spec", () => {
  it("is the same for the same cluster, whatever only says how to create it", async () => {
    const a = await specHash({ agents: 1, ports: ["80@loadbalancer"], image: "img:1" }, K3BOX);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await specHash({ image: "img:1", ports: ["80@loadbalancer"], agents: 1 }, K3BOX)).toBe(a);
    expect(
      await specHash(
        { agents: 1, ports: ["80@loadbalancer"], image: "img:1", name: "other", timeout: "9m", waitFor: "api" },
        K3BOX,
      ),
    ).toBe(a);
  });

  it("differs when the cluster would differ, or in another dialect", async () => {
    const a = await specHash({ agents: 1, image: "img:1" }, K3BOX);
    expect(await specHash({ agents: 2, image: "img:1" }, K3BOX)).not.toBe(a);
    expect(await specHash({ agents: 1, image: "img:2" }, K3BOX)).not.toBe(a);
    expect(await specHash({ agents: 1, image: "img:1", env: ["A=1@server:0"] }, K3BOX)).not.toBe(a);
    expect(await specHash({ agents: 1, image: "img:1" }, K3D)).not.toBe(a);
  });

  it("finds the cluster whose containers carry the hash", () => {
    const c = (name: string, labels: Record<string, string>) => ({ name, labels }) as unknown as ContainerInfo;
    const containers = [
      c("k3box-a-server-0", { "dev.k3box.cluster": "a" }),
      c("k3box-b-server-0", { "dev.k3box.cluster": "b", "dev.k3box.reuse": "h2" }),
      c("k3box-c-server-0", { "dev.k3box.cluster": "c", "dev.k3box.reuse": "h1" }),
    ];
    expect(reusableCluster(containers, K3BOX, "h1")).toBe("c");
    expect(reusableCluster(containers, K3BOX, "h3")).toBeUndefined();
    expect(reusableCluster(containers, K3D, "h1")).toBeUndefined();
  });

  it("serializes data canonically: keys sorted, undefined left out, bytes as their hash", () => {
    expect(JSON.stringify(canonical({ b: 1, a: [{ d: undefined, c: 2 }] }))).toBe('{"a":[{"c":2}],"b":1}');
    expect(canonical(Buffer.from("x"))).toEqual({
      sha256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
    });
  });
});

describe("the reaper's session", () => {
  it("mounts the engine's socket: K3BOX_REAPER_SOCKET, else a unix DOCKER_HOST's path, else Docker's default", () => {
    expect(engineSocket({ K3BOX_REAPER_SOCKET: "/run/x.sock", DOCKER_HOST: "unix:///y.sock" })).toBe("/run/x.sock");
    expect(engineSocket({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" })).toBe("/run/user/1000/docker.sock");
    expect(engineSocket({ DOCKER_HOST: "tcp://10.0.0.1:2375" })).toBe("/var/run/docker.sock");
    expect(engineSocket({})).toBe("/var/run/docker.sock");
  });

  it("is wanted unless the option or K3BOX_REAPER says no", () => {
    expect(reaperWanted(undefined, {})).toBe(true);
    for (const no of ["false", "0", "no", "OFF"]) expect(reaperWanted(undefined, { K3BOX_REAPER: no })).toBe(false);
    expect(reaperWanted(undefined, { K3BOX_REAPER: "true" })).toBe(true);
    expect(reaperWanted(true, { K3BOX_REAPER: "false" })).toBe(true);
    expect(reaperWanted(false, {})).toBe(false);
  });
});

describe("manifests for apply", () => {
  it("reads text, objects, Lists, files by path or URL, and directories, in that order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "k3box-manifests-"));
    try {
      await writeFile(join(dir, "a.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# nothing\n");
      await writeFile(join(dir, "b.json"), '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}');
      const list = {
        apiVersion: "v1",
        kind: "List",
        metadata: {},
        items: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "s" } }],
      };
      const objects = await readManifests([
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: text}\n",
        list,
        dir,
        pathToFileURL(join(dir, "b.json")),
      ]);
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
        "ConfigMap/text",
        "Secret/s",
        "Namespace/a",
        "ConfigMap/b",
        "ConfigMap/b",
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names what is wrong and where", async () => {
    await expect(readManifests("apiVersion: v1\nkind: Pod\nmetadata: {generateName: p-}\n")).rejects.toThrow(
      new UsageError(
        "manifest text: not a Kubernetes object: Pod has no metadata.name (server-side apply names every object; generateName is not enough)",
      ),
    );
    await expect(readManifests("kind: Pod\nmetadata: {name: p}\n")).rejects.toThrow(
      "manifest text: not a Kubernetes object: apiVersion is missing",
    );
    await expect(readManifests("a: [\n")).rejects.toThrow(/^manifest text:\d+:\d+: /);
    await expect(
      readManifests([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ok" } }, "- 1\n- 2\n"]),
    ).rejects.toThrow("manifest text: not a Kubernetes object: expected a mapping, got [1,2]");
  });
});
