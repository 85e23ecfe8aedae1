import { defineConfig } from "vitest/config";

const ENGINE_RESTART = "test/e2e/engine-restart.test.ts";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          setupFiles: ["test/support/isolated-cache.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts", "test/fixtures/k3s-double/**/*.test.ts", "examples/**/*.test.ts"],
          // It restarts the engine under every other test: it runs alone, after them (npm run test:engine-restart).
          exclude: [ENGINE_RESTART],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          pool: "forks",
        },
      },
      {
        test: {
          name: "engine-restart",
          include: [ENGINE_RESTART],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          pool: "forks",
        },
      },
    ],
  },
});
