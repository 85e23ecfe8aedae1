/**
 * Bundles the CLI into dist/cli/main.js (the package's `bin`) and chunks beside it, so that a
 * command starts by loading only what it uses: `--version` and `--help` load commander and the
 * command definitions, `cluster list` adds the engine client, and the config, YAML and spinner
 * code comes in only for the commands that need them. The library stays the plain ESM that tsc
 * writes to dist/; this bundle is for the command line only.
 */
import { build } from "esbuild";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src") + sep;
const out = join(root, "dist", "cli");

/**
 * Modules of the engine client that only some engine setups or calls use, loaded when first called
 * instead of when the client is. Each maps to what it exports: one function (or constructor), or
 * an object of functions, named.
 */
const DEFERRED = {
  // docker-modem's SSH transport (ssh2), for ssh:// hosts.
  "docker-modem/lib/ssh.js": "function",
  // dockerode's BuildKit session (gRPC), which k3box does not use.
  "dockerode/lib/session.js": "function",
  // The stream of an attached exec (readable-stream), for exec with input.
  "docker-modem/lib/http_duplex.js": "function",
  // tar-fs (with tar-stream 2, bl, readable-stream) packs build contexts directories.
  "tar-fs/index.js": ["pack", "extract"],
};
const deferredIds = Object.keys(DEFERRED);

/** Packages those modules need, left to Node to load from node_modules when they are called. */
const EXTERNAL = ["ssh2", "cpu-features", "@grpc/grpc-js", "@grpc/proto-loader", "protobufjs", ...deferredIds];

/** What stands in the bundle for a deferred module: the same exports, each loading it on its first call. */
function stub(id, shape) {
  const load = `require(${JSON.stringify(id)})`;
  if (shape === "function") {
    return `module.exports = function () { return new.target ? Reflect.construct(${load}, arguments) : ${load}.apply(this, arguments); };`;
  }
  return shape.map((name) => `exports.${name} = function () { return ${load}.${name}.apply(this, arguments); };`).join("\n");
}

const seen = new Set();
const deferred = {
  name: "deferred-modules",
  setup(b) {
    const filter = new RegExp(`node_modules/(${deferredIds.map((d) => d.replace(/[./]/g, "\\$&")).join("|")})$`);
    // The stub's require runs from a chunk: it must find the very module that was bundled.
    const requireFromChunk = createRequire(join(out, "chunks", "chunk.js"));
    b.onLoad({ filter }, (args) => {
      const id = deferredIds.find((d) => args.path.endsWith(d));
      const shape = DEFERRED[id];
      if (requireFromChunk.resolve(id) !== args.path) {
        throw new Error(`build-cli: ${id} resolves elsewhere than ${args.path} from the bundle; update DEFERRED`);
      }
      const actual = createRequire(args.path)(args.path);
      const exported = typeof actual === "function" ? "function" : Object.keys(actual).sort().join(",");
      if (exported !== (shape === "function" ? shape : [...shape].sort().join(","))) {
        throw new Error(`build-cli: ${id} exports ${exported}, not what DEFERRED says; update it`);
      }
      seen.add(id);
      return { loader: "js", contents: stub(id, shape) };
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
const { metafile } = await build({
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
  metafile: true,
  logLevel: "warning",
});

// A dockerode or docker-modem release that moved these modules would silently load them eagerly again.
for (const d of deferredIds) if (!seen.has(d)) throw new Error(`build-cli: ${d} was not found in the bundle; update DEFERRED`);

/**
 * With code splitting, esbuild imports from an output every chunk holding a module reachable from
 * it, even one whose code it does not use (evanw/esbuild#2922): through src/index.ts, the entry
 * would load the chunks of the cluster planner, the config resolver and the rest. Such an import
 * is bare (`import "./chunk.js";`). A chunk of k3box's own modules only (pureSources), or of
 * esbuild's helpers only, has no side effects, so its bare imports are dropped; what an output
 * uses it imports by name. The line stays, empty, so that the source maps still match.
 */
const ownOnly = new Set(
  Object.entries(metafile.outputs)
    .filter(([, o]) => Object.keys(o.inputs).every((i) => i.startsWith("src/")))
    .map(([file]) => file),
);
for (const file of Object.keys(metafile.outputs).filter((f) => f.endsWith(".js"))) {
  const path = join(root, file);
  const text = await readFile(path, "utf8");
  const pruned = text.replace(/^import "(\.\.?\/[^"]+)";$/gm, (line, target) =>
    ownOnly.has(
      relative(root, join(dirname(path), target))
        .split(sep)
        .join("/"),
    )
      ? ""
      : line,
  );
  if (pruned !== text) await writeFile(path, pruned);
}
