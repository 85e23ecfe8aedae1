/**
 * Bundles the CLI into dist/cli/main.js (the package's `bin`) and chunks beside it, so that a
 * command starts by loading only what it uses: `--version` and `--help` load commander and the
 * command definitions, `cluster list` adds the engine client, and the config, YAML and spinner
 * code comes in only for the commands that need them. The library stays the plain ESM that tsc
 * writes to dist/; this bundle is for the command line only.
 */
import { build } from "esbuild";
import { rm } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src") + sep;
const out = join(root, "dist", "cli");

/**
 * Modules of the engine client that only a few engine setups use, loaded when first called
 * instead of when the client is: docker-modem's SSH transport (ssh2, for ssh:// hosts) and
 * dockerode's BuildKit session (gRPC), which k3box does not use. Each exports one function.
 */
const DEFERRED = ["docker-modem/lib/ssh.js", "dockerode/lib/session.js"];

/** Packages those modules need, left to Node to load from node_modules when they are called. */
const EXTERNAL = ["ssh2", "cpu-features", "@grpc/grpc-js", "@grpc/proto-loader", "protobufjs", ...DEFERRED];

const seen = new Set();
const deferred = {
  name: "deferred-modules",
  setup(b) {
    const filter = new RegExp(`node_modules/(${DEFERRED.map((d) => d.replace(/[./]/g, "\\$&")).join("|")})$`);
    b.onLoad({ filter }, (args) => {
      const id = DEFERRED.find((d) => args.path.endsWith(d));
      seen.add(id);
      return {
        loader: "js",
        contents: `module.exports = function () { return require(${JSON.stringify(id)}).apply(this, arguments); };`,
      };
    });
  },
};

/**
 * k3box's own modules have no side effects when imported, so what a chunk does not use of the
 * library's entry (src/index.ts re-exports everything) is left out of it.
 */
const pureSources = {
  name: "pure-sources",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === "pure" || !args.importer.startsWith(src)) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "pure" });
      if (r.errors.length > 0 || !r.path.startsWith(src)) return r;
      return { ...r, sideEffects: false };
    });
  },
};

await rm(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: "src/cli/main.ts" },
  outdir: out,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  plugins: [deferred, pureSources],
  // Bundled CommonJS packages (dockerode, its helpers) call require; ESM has none of its own.
  banner: {
    js: "import { createRequire as __k3boxRequire } from 'node:module'; const require = __k3boxRequire(import.meta.url);",
  },
  sourcemap: true,
  logLevel: "warning",
});

// A dockerode or docker-modem release that moved these modules would silently load them eagerly again.
for (const d of DEFERRED) if (!seen.has(d)) throw new Error(`build-cli: ${d} was not found in the bundle; update DEFERRED`);
