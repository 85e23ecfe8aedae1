/**
 * The k3box/testing examples, run as the GitHub Actions workflow in examples/testing runs them:
 * its test steps, one by one, with a sandboxed HOME whose kubeconfig must stay as it was, and
 * nothing of their clusters left afterwards.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DOUBLE_IMAGE, docker, type RunResult } from "../test/e2e/helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKFLOW = new URL("./testing/github-actions.yml", import.meta.url);
const USER_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: ''\n";

interface Step {
  readonly name?: string;
  readonly run?: string;
}

/** The workflow's steps that run tests (after npm ci and the build, which this checkout has done). */
async function testSteps(): Promise<Step[]> {
  const workflow = parse(await readFile(WORKFLOW, "utf8")) as { jobs: { test: { steps: Step[] } } };
  return workflow.jobs.test.steps.filter((s) => s.run !== undefined && !s.run.startsWith("npm "));
}

/** Containers, volumes and networks of clusters whose names start with the prefix. */
async function leftoversOf(prefix: string): Promise<string[]> {
  const name = `name=k3box-${prefix}-`;
  const all = await Promise.all([
    docker(["ps", "-a", "--format", "{{.Names}}", "--filter", name]),
    docker(["volume", "ls", "-q", "--filter", name]),
    docker(["network", "ls", "--format", "{{.Name}}", "--filter", name]),
  ]);
  return all.flatMap((r) => r.stdout.split("\n")).filter((s) => s.trim() !== "");
}

/** Removes what a failed run left (the reaper would, once the example's process is gone). */
async function removeLeftovers(prefix: string): Promise<void> {
  const name = `name=k3box-${prefix}-`;
  const containers = (await docker(["ps", "-aq", "--filter", name])).stdout.split("\n").filter(Boolean);
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...containers]);
  const volumes = (await docker(["volume", "ls", "-q", "--filter", name])).stdout.split("\n").filter(Boolean);
  if (volumes.length > 0) await docker(["volume", "rm", "-f", ...volumes]);
  const networks = (await docker(["network", "ls", "-q", "--filter", name])).stdout.split("\n").filter(Boolean);
  if (networks.length > 0) await docker(["network", "rm", ...networks]);
}

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "k3box-examples-home-"));
  await mkdir(join(home, ".kube"));
  await writeFile(join(home, ".kube", "config"), USER_KUBECONFIG, { mode: 0o600 });
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Runs one of the workflow's steps from the repository's root, as the runner would. */
function runStep(step: Step): Promise<RunResult> {
  const [cmd, ...args] = (step.run as string).split(" ");
  // Not the outer vitest's variables (the inner run is a test runner of its own), nor the caller's kubeconfig.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("VITEST") && !["KUBECONFIG", "NODE_OPTIONS", "FORCE_COLOR"].includes(k),
    ),
  );
  return new Promise((resolve) => {
    execFile(
      cmd as string,
      args,
      { cwd: ROOT, env: { ...env, HOME: home, K3S_IMAGE: DOUBLE_IMAGE, NO_COLOR: "1" }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("examples/testing, as its GitHub Actions workflow runs them", () => {
  it("has the test steps this file runs", async () => {
    expect((await testSteps()).map((s) => s.run)).toEqual([
      "npx vitest run --config examples/testing/vitest/vitest.config.ts",
      "node --experimental-vm-modules node_modules/jest/bin/jest.js --config examples/testing/jest/jest.config.mjs",
      "node --test examples/testing/node-test/",
    ]);
  });

  it("vitest: a globalSetup shares one cluster with two files, reset between them, and removes it", async () => {
    const [step] = await testSteps();
    try {
      const r = await runStep(step as Step);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Test Files\s+2 passed \(2\)/);
      expect(r.stdout).toMatch(/Tests\s+2 passed \(2\)/);
      expect(await leftoversOf("vitest-example")).toEqual([]);
      expect(await readFile(join(home, ".kube", "config"), "utf8")).toBe(USER_KUBECONFIG);
    } finally {
      await removeLeftovers("vitest-example");
    }
  });

  it("jest: a globalSetup shares one cluster with two files, reset between them, and removes it", async () => {
    const [, step] = await testSteps();
    try {
      const r = await runStep(step as Step);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^Test Suites: 2 passed, 2 total$/m);
      expect(r.stderr).toMatch(/^Tests: +2 passed, 2 total$/m);
      expect(await leftoversOf("jest-example")).toEqual([]);
      expect(await readFile(join(home, ".kube", "config"), "utf8")).toBe(USER_KUBECONFIG);
    } finally {
      await removeLeftovers("jest-example");
    }
  });

  it("node:test: a cluster for the file, removed after it", async () => {
    const [, , step] = await testSteps();
    try {
      const r = await runStep(step as Step);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^# pass 2$/m);
      expect(r.stdout).toMatch(/^# fail 0$/m);
      expect(await leftoversOf("node-test-example")).toEqual([]);
      expect(await readFile(join(home, ".kube", "config"), "utf8")).toBe(USER_KUBECONFIG);
    } finally {
      await removeLeftovers("node-test-example");
    }
  });
});
