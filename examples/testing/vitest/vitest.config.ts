import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["*.spec.ts"],
    // One cluster for every file: it starts once, before the first file, and goes after the last.
    globalSetup: ["./global-setup.ts"],
    // The files share the cluster and reset it after themselves, so they take turns.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
