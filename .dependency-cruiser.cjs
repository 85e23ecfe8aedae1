/**
 * The layers of k3box, lowest first: base ← runtime ← core ← the library's entry (src/index.ts) ← cli,
 * and beside the cli the testing entry (src/testing/, `k3box/testing`), on the library and core.
 * `npm run lint:deps` fails on an import against that grain or on any import cycle.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "Modules that import each other cannot be read, tested or loaded on their own.",
      from: {},
      to: { circular: true },
    },
    {
      name: "base-is-the-bottom",
      severity: "error",
      comment: "base/ holds errors and abort helpers that every layer shares; it depends on nothing of k3box.",
      from: { path: "^src/base/" },
      to: { path: "^src/(?!base/)" },
    },
    {
      name: "runtime-below-core",
      severity: "error",
      comment: "The engine port and its adapters know nothing of clusters.",
      from: { path: "^src/runtime/" },
      to: { path: "^src/(core|cli|testing)/|^src/index\\.ts$" },
    },
    {
      name: "core-never-picks-the-engine",
      severity: "error",
      comment: "core talks to the Runtime port only; the entry points choose and inject the engine.",
      from: { path: "^src/core/" },
      to: { path: "^src/runtime/(?!types\\.ts$)|^src/(cli|testing)/|^src/index\\.ts$" },
    },
    {
      name: "planners-are-pure",
      severity: "error",
      comment: "Plans are worked out without the engine: planners never reach for operations or the executor.",
      from: { path: "^src/core/plan/" },
      to: { path: "^src/core/(operations|execute)/" },
    },
    {
      name: "testing-is-an-entry-point",
      severity: "error",
      comment: "k3box/testing sits on top: nothing of k3box imports it.",
      from: { path: "^src/(?!testing/)" },
      to: { path: "^src/testing/" },
    },
    {
      name: "testing-uses-the-library-and-core",
      severity: "error",
      comment: "The testing entry builds on the public library and core; the engine comes from the library, never from an adapter.",
      from: { path: "^src/testing/" },
      to: { path: "^src/cli/|^src/runtime/(?!types\\.ts$)" },
    },
    {
      name: "cli-uses-the-public-library",
      severity: "error",
      comment: "The CLI is a user of the library like any other: its own modules plus the public entry.",
      from: { path: "^src/cli/" },
      to: { path: "^src/(?!cli/|index\\.ts$)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
