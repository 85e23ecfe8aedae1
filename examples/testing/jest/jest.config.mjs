// Jest with one k3box cluster for every test file (ESM: run Node with --experimental-vm-modules).
export default {
  rootDir: new URL(".", import.meta.url).pathname,
  testMatch: ["<rootDir>/*.test.mjs"],
  transform: {},
  globalSetup: "<rootDir>/global-setup.mjs",
  globalTeardown: "<rootDir>/global-teardown.mjs",
  // The files share the cluster and reset it after themselves, so they take turns.
  maxWorkers: 1,
  testTimeout: 120_000,
};
