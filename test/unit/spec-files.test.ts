import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildClusterSpec } from "../../src/core/spec/build.js";
import { parseNodeLabel } from "../../src/core/spec/env.js";
import { formatNodeFilters, parseNodeFilters } from "../../src/core/spec/filters.js";
import { loadManifests, parseFileFlag, resolveDestination } from "../../src/core/spec/files.js";
import { parseSubnet } from "../../src/core/spec/subnet.js";

const dir = mkdtempSync(join(tmpdir(), "k3box-files-"));
writeFileSync(join(dir, "a.yaml"), "kind: ConfigMap\n");
writeFileSync(join(dir, "img.tar"), Buffer.from([0, 1, 2, 255]));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--file SRC:DEST[@FILTER]", () => {
  it("goes to every node by default, also on a cluster without agents", async () => {
    const spec = await buildClusterSpec({ files: [`${join(dir, "img.tar")}:/etc/e2e/img.tar`] });
    expect(formatNodeFilters(spec.files[0]?.filters ?? [])).toBe("server:*;agent:*");
  });

  it("refuses the files k3box writes itself, saying what to use instead", async () => {
    const err = (await buildClusterSpec({
      files: [`${join(dir, "img.tar")}:k3s-registry-config`, `${join(dir, "img.tar")}:/bin/k3box-entrypoint.sh`],
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(
      "writes /etc/rancher/k3s/registries.yaml, which k3box writes itself: give the file as --registry-config",
    );
    expect(err.message).toContain("writes /bin/k3box-entrypoint.sh, which k3box writes itself");
  });

  it.each([
    ["./a.yaml:/etc/a.yaml", { source: "./a.yaml", destination: "/etc/a.yaml" }],
    ["a.yaml:k3s-manifests/a.yaml@server:0", { source: "a.yaml", destination: "k3s-manifests/a.yaml", filters: "server:0" }],
    [
      "/x/y.tar:k3s-images/y.tar@agent:*;server:0",
      { source: "/x/y.tar", destination: "k3s-images/y.tar", filters: "agent:*;server:0" },
    ],
  ])("%s", (raw, expected) => {
    expect(parseFileFlag(raw)).toEqual(expected);
  });

  it.each(["a.yaml", ":/etc/a", "a.yaml:"])("rejects %s", (raw) => {
    expect(() => parseFileFlag(raw)).toThrow(`invalid file "${raw}": expected SRC:DEST[@FILTER]`);
  });

  it.each([
    ["k3s-manifests/app.yaml", "/var/lib/rancher/k3s/server/manifests/app.yaml"],
    ["k3s-manifests-custom/app.yaml", "/var/lib/rancher/k3s/server/manifests/custom/app.yaml"],
    ["k3s-images/app.tar", "/var/lib/rancher/k3s/agent/images/app.tar"],
    ["k3s-storage/pv/x", "/var/lib/rancher/k3s/storage/pv/x"],
    ["k3s-registry-config", "/etc/rancher/k3s/registries.yaml"],
    ["k3s-containerd-tmpl", "/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl"],
    ["/etc/../etc/x", "/etc/x"],
  ])("destination shortcut %s", (dest, path) => {
    expect(resolveDestination(dest, "test")).toBe(path);
  });

  it("rejects a relative destination that is no shortcut", () => {
    expect(() => resolveDestination("k3s-manifest/a.yaml", 'file "x"')).toThrow(
      'invalid destination "k3s-manifest/a.yaml" in file "x"',
    );
  });

  it("reads files at build time: content as bytes, default mode 0644, every server and agent", async () => {
    const spec = await buildClusterSpec({ agents: 1, files: [`${join(dir, "img.tar")}:k3s-images/img.tar`] });
    expect(spec.files).toHaveLength(1);
    expect(spec.files[0]?.destination).toBe("/var/lib/rancher/k3s/agent/images/img.tar");
    expect(Buffer.compare(spec.files[0]?.content as Buffer, Buffer.from([0, 1, 2, 255]))).toBe(0);
    expect(spec.files[0]?.mode).toBe(0o644);
    expect(formatNodeFilters(spec.files[0]?.filters ?? [])).toBe("server:*;agent:*");
  });

  it("names a missing source and every other problem at once", async () => {
    const err = (await buildClusterSpec({
      files: ["/no/such/file:/etc/x", `${join(dir, "a.yaml")}:/etc/a@agent:0`, "no-destination"],
      manifests: ["/no/such/dir"],
    }).catch((e: Error) => e)) as Error;
    expect(err.message.split("\n")).toEqual([
      'file "/no/such/file:/etc/x": cannot read /no/such/file: no such file or directory',
      'invalid file "no-destination": expected SRC:DEST[@FILTER]',
      'manifest "/no/such/dir": cannot read /no/such/dir: no such file or directory',
      `node filter "agent:0" in "${join(dir, "a.yaml")}:/etc/a" selects nothing: the cluster has 0 agents`,
    ]);
  });

  it("refuses two files for one path on the same node", async () => {
    const a = join(dir, "a.yaml");
    await expect(buildClusterSpec({ files: [`${a}:/etc/x`, { content: "y", destination: "/etc/x" }] })).rejects.toThrow(
      "both write /etc/x on server:0",
    );
    await expect(buildClusterSpec({ manifests: [a, a] })).rejects.toThrow(`"${a}" is given twice`);
    // Different nodes may get different files at one path.
    const spec = await buildClusterSpec({
      agents: 1,
      files: [`${a}:/etc/x@server:0`, { content: "y", destination: "/etc/x", filters: "agent:0" }],
    });
    expect(spec.files).toHaveLength(2);
  });
});

describe("manifests", () => {
  it("a directory: its .yaml/.yml/.json files, servers only, each with a name of its own", async () => {
    const sub = mkdtempSync(join(dir, "deploy-"));
    writeFileSync(join(sub, "a.yaml"), "kind: A\n");
    writeFileSync(join(sub, "b.json"), "{}");
    writeFileSync(join(sub, ".hidden.yaml"), "x");
    writeFileSync(join(sub, "notes.txt"), "x");
    const files = await loadManifests(sub);
    expect(files.map((f) => f.destination.replace(/k3box-[0-9a-f]{8}-/, "k3box-HASH-"))).toEqual([
      "/var/lib/rancher/k3s/server/manifests/k3box-HASH-a.yaml",
      "/var/lib/rancher/k3s/server/manifests/k3box-HASH-b.json",
    ]);
    const single = await loadManifests(join(dir, "a.yaml"));
    expect(single[0]?.destination).not.toBe(files[0]?.destination);
    expect(formatNodeFilters(single[0]?.filters ?? [])).toBe("server:*");
  });

  it("an empty directory is a mistake", async () => {
    const empty = mkdtempSync(join(dir, "empty-"));
    await expect(loadManifests(empty)).rejects.toThrow("holds no .yaml, .yml or .json file");
  });
});

describe("node labels and subnets", () => {
  it.each([
    ["tier=edge", "--node-label=tier=edge"],
    ["example.dev/pool=apps@agent:*", "--node-label=example.dev/pool=apps"],
    ["flag", "--node-label=flag="],
  ])("%s", (raw, arg) => {
    expect(parseNodeLabel(raw).arg).toBe(arg);
  });

  it.each([
    ["bad key=x", '"bad key" is not a valid label key'],
    ["k=bad value", '"bad value" is not a valid label value'],
  ])("rejects %s", (raw, message) => {
    expect(() => parseNodeLabel(raw)).toThrow(message);
  });

  it("parses subnets; auto is the engine's choice", () => {
    expect(parseSubnet("172.28.0.0/16")).toBe("172.28.0.0/16");
    expect(parseSubnet("auto")).toBeUndefined();
    for (const bad of ["172.28.0.0", "172.28.0.0/31", "fd00::/64", "300.1.1.1/24"]) {
      expect(() => parseSubnet(bad)).toThrow(`invalid subnet "${bad}"`);
    }
  });

  it("formats filters back to their text", () => {
    const text = "server:0,2;agent:1-;agent:-3;loadbalancer;all;server:*:direct";
    expect(formatNodeFilters(parseNodeFilters(text, "x"))).toBe("server:0,2;agent:1-;agent:0-3;loadbalancer;all;server:*:direct");
  });
});
