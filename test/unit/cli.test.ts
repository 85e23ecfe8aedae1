import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as errors from "../../src/base/errors.js";
import { VERSION } from "../../src/core/version.js";
import { EXIT, exitCodeFor } from "../../src/cli/exit.js";
import { run } from "../../src/cli/program.js";
import { streams } from "../support/captured-streams.js";

describe("exit codes", () => {
  it.each([
    [new errors.UsageError("x"), EXIT.usage],
    [new errors.RuntimeUnavailableError("x"), EXIT.runtimeUnavailable],
    [new errors.TimeoutError("x"), EXIT.timeout],
    [new errors.ConflictError("x"), EXIT.conflict],
    [new errors.NotFoundError("x"), EXIT.notFound],
    [new errors.NodeFailedError("n", "x", []), EXIT.nodeFailed],
    [new errors.KubeconfigError("x"), EXIT.kubeconfig],
    [new errors.CancelledError("x"), EXIT.cancelled],
    [new Error("x"), EXIT.error],
  ])("%s → %i", (err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });
});

describe("command line", () => {
  it("prints the version, matching package.json", async () => {
    const s = streams();
    expect(await run(["version"], s.streams, new AbortController().signal)).toBe(0);
    expect(s.text().stdout).toBe(`k3box ${VERSION}\n`);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it("answers usage errors with exit 2 before touching Docker", async () => {
    const s = streams();
    const code = await run(["cluster", "create", "x", "-p", "80@bogus"], s.streams, new AbortController().signal);
    expect(code).toBe(2);
    expect(s.text().stderr).toContain('invalid node filter "bogus"');
  });

  it("reports every bad --host-alias before touching Docker", async () => {
    const s = streams();
    const code = await run(
      ["cluster", "create", "x", "--host-alias", "nope", "--host-alias", "10.0.0.1:ok.name", "--host-alias", "10.0.0.1:bad_name"],
      s.streams,
      new AbortController().signal,
    );
    expect(code).toBe(2);
    expect(s.text().stderr).toContain('invalid host alias "nope"');
    expect(s.text().stderr).toContain('invalid host alias "10.0.0.1:bad_name": "bad_name" is not a valid host name');
    expect(s.text().stderr).not.toContain("ok.name");
  });

  it("answers bad registry input with exit 2 before touching Docker", async () => {
    const s = streams();
    const signal = new AbortController().signal;
    expect(await run(["registry", "create", "Bad_Name", "--port", "99999"], s.streams, signal)).toBe(2);
    expect(s.text().stderr).toContain('invalid registry name "Bad_Name"');
    expect(s.text().stderr).toContain('invalid port "99999"');
    expect(await run(["cluster", "create", "x", "--registry-create", "r:1:2:3"], s.streams, signal)).toBe(2);
    expect(s.text().stderr).toContain('invalid --registry-create "r:1:2:3"');
    expect(await run(["registry", "connect", "r"], s.streams, signal)).toBe(2);
    expect(await run(["registry", "delete"], s.streams, signal)).toBe(2);
    expect(s.text().stderr).toContain("give registry names or --all");
  });

  it("rejects unknown options and counts that are not numbers", async () => {
    const s = streams();
    expect(await run(["cluster", "create", "--nope"], s.streams, new AbortController().signal)).toBe(2);
    expect(await run(["cluster", "create", "-a", "two"], s.streams, new AbortController().signal)).toBe(2);
    expect(s.text().stderr).toContain('invalid agent count "two"');
  });

  it("finds the command after a global option whose value is another command's name", async () => {
    // Only the commands up to the one named are defined; `cluster` here is --engine's value.
    const s = streams();
    const code = await run(["--engine", "cluster", "node", "create"], s.streams, new AbortController().signal);
    expect(code).toBe(2);
    expect(s.text().stderr).toContain("required option '-c, --cluster <name|url>' not specified");
  });

  it("shows examples in every command's help", async () => {
    for (const cmd of [
      ["cluster", "create"],
      ["cluster", "delete"],
      ["cluster", "list"],
      ["cluster", "get"],
      ["kubeconfig", "get"],
      ["kubeconfig", "merge"],
      ["node-image", "build"],
      ["config", "init"],
      ["config", "validate"],
      ["config", "view"],
      ["config", "schema"],
      ["registry", "create"],
      ["registry", "list"],
      ["registry", "get"],
      ["registry", "delete"],
      ["registry", "connect"],
      ["registry", "disconnect"],
      ["cluster", "start"],
      ["cluster", "stop"],
      ["cluster", "restart"],
      ["cluster", "edit"],
      ["node", "create"],
      ["node", "delete"],
      ["node", "start"],
      ["node", "stop"],
      ["node", "list"],
      ["node", "get"],
      ["image", "import"],
    ]) {
      const s = streams();
      expect(await run([...cmd, "--help"], s.streams, new AbortController().signal)).toBe(0);
      expect(s.text().stdout).toContain("Examples:");
    }
  });

  it("node and edit commands refuse bad input with exit 2 before touching Docker", async () => {
    const signal = new AbortController().signal;
    const cases: Array<[string[], string]> = [
      [["node", "create"], "required option '-c, --cluster <name|url>' not specified"],
      [["node", "create", "--cluster", "dev", "--role", "master"], 'invalid role "master"'],
      [
        ["node", "create", "--cluster", "dev", "--k3s-arg", "--disable=traefik@server:0"],
        "node filters do not apply to node create",
      ],
      [["node", "create", "--cluster", "https://10.0.0.1:6443"], "needs the cluster's --token"],
      [["node", "create", "--cluster", "dev", "--token", "x"], "--token is only for joining a cluster by its URL"],
      [["cluster", "edit", "dev"], "nothing to edit"],
      [["cluster", "stop", "--stop-timeout", "soon"], 'invalid stop timeout "soon"'],
    ];
    for (const [argv, message] of cases) {
      const s = streams();
      expect(await run(argv, s.streams, signal), argv.join(" ")).toBe(2);
      expect(s.text().stderr).toContain(message);
    }
  });
});

describe("config commands", () => {
  const signal = new AbortController().signal;

  it("config init writes a starter file, refuses to overwrite it, and overwrites with --force", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3box-cli-"));
    try {
      const file = join(dir, "k3box.yaml");
      expect(await run(["config", "init", "--output", file], streams().streams, signal)).toBe(0);
      const first = readFileSync(file, "utf8");
      expect(first).toContain("apiVersion: k3box.dev/v1alpha1");
      writeFileSync(file, "mine\n");
      const s = streams();
      expect(await run(["config", "init", "--output", file], s.streams, signal)).toBe(EXIT.conflict);
      expect(s.text().stderr).toContain("exists already: use --force");
      expect(readFileSync(file, "utf8")).toBe("mine\n");
      expect(await run(["config", "init", "--output", file, "--force"], streams().streams, signal)).toBe(0);
      expect(readFileSync(file, "utf8")).toBe(first);
      const v = streams();
      expect(await run(["config", "validate", file], v.streams, signal)).toBe(0);
      expect(v.text().stdout).toContain("valid k3box.dev/v1alpha1 config");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("config validate exits 2 and prints every problem with its position", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3box-cli-"));
    try {
      const file = join(dir, "bad.yaml");
      writeFileSync(file, "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\nservers: 0\nports:\n  - port: x\n");
      const s = streams();
      expect(await run(["config", "validate", file], s.streams, signal)).toBe(EXIT.usage);
      expect(s.text().stderr).toContain(`error: ${file}:3:10: servers: must be at least 1, got 0`);
      expect(s.text().stderr).toContain(`error: ${file}:5:5: ports[0]: invalid container port "x"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("config view layers flags over the file and never shows the token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3box-cli-"));
    try {
      const file = join(dir, "c.yaml");
      writeFileSync(
        file,
        "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\nmetadata: {name: viewed}\nagents: 1\ntoken: s3cret-value\n",
      );
      const s = streams();
      expect(await run(["config", "view", "--config", file, "--agents", "2", "-o", "json"], s.streams, signal)).toBe(0);
      const view = JSON.parse(s.text().stdout) as { name: string; agents: number; servers: number; token: string };
      expect(view).toMatchObject({ name: "viewed", agents: 2, servers: 1, token: "<redacted>" });
      expect(s.text().stdout).not.toContain("s3cret-value");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("config schema prints the published JSON Schema", async () => {
    const s = streams();
    expect(await run(["config", "schema"], s.streams, signal)).toBe(0);
    expect(s.text().stdout).toBe(readFileSync(new URL("../../schema/k3box-config.schema.json", import.meta.url), "utf8"));
  });
});

describe("--helm-chart and the flags that qualify it", () => {
  const signal = new AbortController().signal;
  const dir = mkdtempSync(join(tmpdir(), "k3box-cli-helm-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tgz = gzipSync(Buffer.from("a chart"));
  writeFileSync(join(dir, "app-1.0.0.tgz"), tgz);
  writeFileSync(join(dir, "values.yaml"), "replicas: 2\nimage: {tag: v1}\n");
  async function view(args: string[]) {
    const s = streams();
    const code = await run(["config", "view", "-o", "json", ...args], s.streams, signal);
    return { code, ...s.text() };
  }

  it("applies --helm-values, --helm-namespace and --helm-repo to the chart before them", async () => {
    const r = await view([
      "--helm-chart",
      `app=${join(dir, "app-1.0.0.tgz")}`,
      "--helm-namespace",
      "apps",
      "--helm-chart",
      "web=podinfo:6.7.1",
      "--helm-repo",
      "https://example.test/charts",
      "--helm-values",
      join(dir, "values.yaml"),
    ]);
    expect(r.code).toBe(0);
    const charts = (JSON.parse(r.stdout) as { charts: Record<string, unknown>[] }).charts;
    expect(charts).toEqual([
      { name: "app", chart: join(dir, "app-1.0.0.tgz"), bytes: tgz.length, namespace: "apps" },
      { name: "web", chart: "podinfo", repo: "https://example.test/charts", version: "6.7.1", values: "29 bytes" },
    ]);
  });

  it("refuses a qualifier without a chart before it, one given twice, and a chart without NAME=", async () => {
    expect((await view(["--helm-namespace", "x"])).stderr).toContain("applies to the --helm-chart before it, and there is none");
    const twice = await view([
      "--helm-chart",
      `a=${join(dir, "app-1.0.0.tgz")}`,
      "--helm-namespace",
      "x",
      "--helm-namespace",
      "y",
    ]);
    expect([twice.code, twice.stderr.includes('--helm-namespace is given twice for chart "a"')]).toEqual([2, true]);
    const bare = await view(["--helm-chart", "app.tgz"]);
    expect([bare.code, bare.stderr.includes('expected NAME=CHART, got "app.tgz"')]).toEqual([2, true]);
  });
});
