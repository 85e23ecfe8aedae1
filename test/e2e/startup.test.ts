/**
 * What the CLI loads before it knows the command: the bundle's entry and the chunks it imports
 * statically. Keeping config, YAML, spinner and engine-client code out of it is what makes
 * `--version`, `--help` and `cluster list` start fast (bench/startup.mjs measures that); a static
 * import of a heavy module would quietly bring it back. Also what a push into a cluster's
 * registry loads: the CLI's peak memory there is measured against a target (bench/README.md).
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI } from "./helpers.js";

/** Every file loaded with the entry: its static imports, transitively. */
function startupFiles(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(/^(?:import|} from) .*?"(\.\.?\/[^"]+)";$/gm)) {
      visit(join(dirname(file), m[1] as string));
    }
  };
  visit(entry);
  return [...seen];
}

/** The packages a bundled file holds, from esbuild's `// node_modules/PKG/...` markers. */
function packagesIn(file: string): Set<string> {
  const text = readFileSync(file, "utf8");
  return new Set([...text.matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1] as string));
}

/** Every JavaScript file of the bundle: the entry and its chunks. */
function bundleFiles(entry: string): string[] {
  const chunks = join(dirname(entry), "chunks");
  return [
    entry,
    ...readdirSync(chunks)
      .filter((f) => f.endsWith(".js"))
      .map((f) => join(chunks, f)),
  ];
}

describe("the CLI's start-up", () => {
  it("loads commander and k3box's own code, and nothing heavy", () => {
    const files = startupFiles(CLI);
    const packages = new Set(files.flatMap((f) => [...packagesIn(f)]));
    expect([...packages].sort()).toEqual(["chalk", "commander"]);
    const own = files.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/^\/\/ src\/(\S+)$/gm)].map((m) => m[1]));
    for (const heavy of [
      "core/config/schema.ts",
      "core/config/load.ts",
      "core/kubeconfig/yaml.ts",
      "core/operations/create.ts",
    ]) {
      expect(own).not.toContain(heavy);
    }
  });

  it("loads none of Node's network, crypto or child-process modules", () => {
    const builtins = startupFiles(CLI).flatMap((f) =>
      [...readFileSync(f, "utf8").matchAll(/^import .*?"node:([^"]+)";$/gm)].map((m) => m[1] as string),
    );
    expect(builtins.length).toBeGreaterThan(0);
    for (const heavy of ["crypto", "net", "dns/promises", "http", "https", "tls", "readline", "child_process"]) {
      expect(builtins).not.toContain(heavy);
    }
  });

  it("imports no chunk for nothing: a bare import is of a chunk with a package's code", () => {
    // esbuild imports every chunk reachable from an output, used or not; the build drops the
    // bare imports of chunks that hold only k3box's own (side-effect free) modules.
    for (const file of bundleFiles(CLI)) {
      for (const m of readFileSync(file, "utf8").matchAll(/^import "(\.\.?\/[^"]+)";$/gm)) {
        const chunk = join(dirname(file), m[1] as string);
        expect(packagesIn(chunk).size, `${file} imports ${chunk} for nothing`).toBeGreaterThan(0);
      }
    }
  });

  it("leaves out of the engine client's chunk what only some engine calls use", () => {
    const client = bundleFiles(CLI).filter((f) => packagesIn(f).has("dockerode"));
    expect(client).toHaveLength(1);
    const packages = packagesIn(client[0] as string);
    expect(packages).toContain("docker-modem");
    for (const deferred of ["ssh2", "@grpc/grpc-js", "tar-stream", "bl", "readable-stream"]) {
      expect(packages).not.toContain(deferred);
    }
  });

  it("pushes to a cluster's registry without the code that creates one, waits or reaches the Kubernetes API", () => {
    const holds = (f: string, module: string) => readFileSync(f, "utf8").includes(`\n// src/${module}\n`);
    const entry = bundleFiles(CLI).find((f) => holds(f, "core/operations/import-registry.ts"));
    expect(entry).toBeDefined();
    const files = startupFiles(entry as string);
    expect(files.some((f) => holds(f, "core/images/registry-push.ts"))).toBe(true);
    for (const loadedWhenUsed of [
      "core/operations/registry.ts",
      "core/readiness/cluster.ts",
      "core/readiness/milestones.ts",
      "core/loadbalancer/update.ts",
      "core/node/objects.ts",
      "core/kubeconfig/merge.ts",
      "core/host-ports.ts",
    ]) {
      expect(files.filter((f) => holds(f, loadedWhenUsed)).map((f) => relative(dirname(CLI), f))).toEqual([]);
    }
  });
});
