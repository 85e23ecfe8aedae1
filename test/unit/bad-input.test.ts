/**
 * A corpus of generated bad input thrown at the command line and at config files: every case
 * must end with a documented exit code, a message naming the bad value, no stack trace, in
 * bounded time and memory. The engine is out of reach (DOCKER_HOST names nothing), so input that
 * slipped through the checks would show up as exit 3 instead of 2.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit.js";
import { run } from "../../src/cli/program.js";
import { LIMITS } from "../../src/core/limits.js";

const FLAG_RUNS = 1500;
const CONFIG_RUNS = 1000;
/** A case that takes longer than this is a hang or a blow-up, not slowness. */
const CASE_MS = 5000;
const DOCUMENTED = new Set<number>(Object.values(EXIT));

const dir = mkdtempSync(join(tmpdir(), "k3box-bad-input-"));
let savedHost: string | undefined;
beforeAll(() => {
  savedHost = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = "garbage://no-engine-here";
});
afterAll(() => {
  if (savedHost === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = savedHost;
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  readonly code: number;
  readonly stderr: string;
  readonly ms: number;
}

async function cli(argv: readonly string[]): Promise<Outcome> {
  const out = new PassThrough().resume();
  const err = new PassThrough();
  let stderr = "";
  err.on("data", (b: Buffer) => (stderr += b.toString()));
  const streams = { stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream };
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    run(argv, streams, new AbortController().signal),
    new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(-1), CASE_MS);
    }),
  ]);
  clearTimeout(timer);
  return { code, stderr, ms: Date.now() - started };
}

/** What every bad input must get. */
function expectRefused(o: Outcome, ...named: string[]): void {
  expect(o.ms, `took ${o.ms} ms`).toBeLessThan(CASE_MS);
  expect(DOCUMENTED.has(o.code), `exit ${o.code}: ${o.stderr}`).toBe(true);
  expect(o.code, o.stderr).toBe(EXIT.usage);
  expect(o.stderr).toMatch(/^error: /);
  expect(o.stderr).not.toMatch(/\n\s+at |This is a bug/);
  for (const n of named) expect(o.stderr).toContain(n);
}

const canonicalInt = (min: number, max: number) => fc.integer({ min, max }).map(String);
/** Words that are not whole numbers. */
const notACount = fc.oneof(
  fc.constantFrom("", "-1", "1.5", "1e3", "0x10", "two", " 3", "NaN", "Infinity", "3 "),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^\d+$/.test(s) && !s.startsWith("-")),
);
const hugeDigits = fc.integer({ min: 17, max: 400 }).map((n) => "9".repeat(n));
/** A character an image path component may not have. */
const badImage = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.constantFrom("A", "Z", " ", "!", "%", "^", "&", "*", "(", "|", "\\"))
  .map(([s, c]) => `rancher/${s}${c}${s}:v1`);
const badPortNumber = fc.oneof(fc.integer({ min: 65536, max: 10 ** 9 }), fc.constant(0)).map(String);
const badFilterGroup = fc
  .stringMatching(/^[a-z]{1,8}$/)
  .filter((g) => !["server", "servers", "agent", "agents", "loadbalancer", "all"].includes(g));
const badClusterName = fc.oneof(
  fc.stringMatching(/^[A-Z][a-zA-Z0-9]{0,20}$/),
  fc.stringMatching(/^[a-z0-9]{33,60}$/),
  fc.stringMatching(/^[a-z0-9]{1,10}-$/),
  fc.stringMatching(/^[a-z]{1,5}[_.@:/][a-z]{1,5}$/),
);
const tooLongDuration = fc.integer({ min: 25, max: 10 ** 12 }).map((h) => `${h}h`);
const badDuration = fc.stringMatching(/^[0-9]{1,3}(d|w|y|sec|min|x)$/);

/** Each case: the arguments after `k3box cluster create`, and the texts the message must name. */
const badFlags: fc.Arbitrary<{ argv: string[]; named: string[] }> = fc.oneof(
  fc
    .oneof(
      canonicalInt(100, 10 ** 9),
      canonicalInt(-1_000_000_000, 0).filter((s) => s !== "0"),
      fc.constant("0"),
    )
    .map((n) => ({ argv: ["--servers", n], named: [n.startsWith("-") ? n : `"${n}"`] })),
  fc.oneof(notACount, hugeDigits).map((n) => ({ argv: ["--agents", n], named: [n === "" ? "''" : n] })),
  canonicalInt(LIMITS.nodes, 10 ** 12).map((n) => ({ argv: ["-a", n], named: [`"${n}"`] })),
  fc.oneof(tooLongDuration, badDuration).map((d) => ({ argv: ["--timeout", d], named: [`"${d}"`] })),
  badImage.map((i) => ({ argv: ["--image", i], named: [`"${i}"`] })),
  fc.constantFrom("host", "none").map((n) => ({ argv: ["--network", n], named: [`"${n}"`] })),
  badPortNumber.map((p) => ({ argv: ["-p", `${p}:80`], named: [`"${p}:80"`] })),
  badPortNumber.map((p) => ({ argv: ["--api-port", p], named: [p] })),
  badFilterGroup.map((g) => ({ argv: ["-e", `A=1@${g}`], named: [`"${g}"`, "A=1@"] })),
  badFilterGroup.map((g) => ({ argv: ["--k3s-arg", `--debug@${g}:0`], named: [`"${g}:0"`] })),
  fc.integer({ min: 1, max: 500 }).map((i) => ({ argv: ["-v", `/x:/y@agent:${i}`], named: [`agent:${i}`] })),
  fc.stringMatching(/^[0-9]{1,3}\.[0-9]{1,3}\/[0-9]{1,3}$/).map((s) => ({ argv: ["--subnet", s], named: [`"${s}"`] })),
  badClusterName.map((n) => ({ argv: [n], named: [`"${n}"`] })),
  fc.constantFrom("tcp", "x", "60s", "sctp").map((p) => ({ argv: ["-p", `8080:80/${p}x`], named: [`8080:80/${p}x`] })),
);

describe(`bad input corpus: ${FLAG_RUNS} generated bad flags, ${CONFIG_RUNS} generated bad config files`, () => {
  it(`${FLAG_RUNS} bad cluster create flags: exit 2, the value named, no stack trace, each under ${CASE_MS} ms`, async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(badFlags, fc.boolean(), async ({ argv, named }, dryRun) => {
        cases++;
        const line = ["cluster", "create", ...(argv[0]?.startsWith("-") ? ["bad"] : []), ...argv];
        expectRefused(await cli(dryRun ? [...line, "--dry-run"] : line), ...named);
      }),
      { numRuns: FLAG_RUNS },
    );
    expect(cases).toBeGreaterThanOrEqual(FLAG_RUNS);
    console.log(`bad flags: ${cases} cases refused with exit 2`);
  }, 120_000);

  it(`${CONFIG_RUNS} bad config files: exit 2, the file and the value named, heap bounded`, async () => {
    const header = "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\n";
    const bomb = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        i === 0
          ? `a0: &a0 [x, x, x, x, x, x, x, x, x]`
          : `a${i}: &a${i} [${Array(9)
              .fill(`*a${i - 1}`)
              .join(", ")}]`,
      ).join("\n");
    const badFile: fc.Arbitrary<{ text: string; named: string[] }> = fc.oneof(
      fc
        .tuple(fc.oneof(canonicalInt(100, 10 ** 9), fc.constant("0")), canonicalInt(-1_000_000, -1))
        .map(([s, a]) => ({ text: `${header}servers: ${s}\nagents: ${a}\n`, named: [`servers:`, `agents:`, a] })),
      fc.oneof(canonicalInt(LIMITS.nodes, 10 ** 15), fc.constantFrom("1e9", "1e300")).map((a) => ({
        text: `${header}agents: ${a}\n`,
        named: ["agents:"],
      })),
      fc.string({ minLength: 1, maxLength: 10 }).map((v) => ({
        text: `${header}servers: ${JSON.stringify(`x${v}`)}\n`,
        named: ["servers:"],
      })),
      fc.stringMatching(/^[a-z][a-zA-Z]{2,12}$/).map((k) => ({ text: `${header}${k}X: 1\n`, named: [`unknown field "${k}X"`] })),
      badPortNumber.map((p) => ({ text: `${header}ports:\n  - port: "${p}:80"\n`, named: [`"${p}:80"`] })),
      fc.oneof(tooLongDuration, badDuration).map((d) => ({
        text: `${header}options:\n  k3box:\n    timeout: "${d}"\n`,
        named: [`"${d}"`],
      })),
      badImage.map((i) => ({ text: `${header}image: '${i}'\n`, named: [`"${i}"`] })),
      fc.integer({ min: LIMITS.yamlDepth, max: 3000 }).map((d) => ({
        text: `${header}ports: ${"[".repeat(d)}${"]".repeat(d)}\n`,
        named: [`nested deeper than ${LIMITS.yamlDepth} levels`],
      })),
      fc.integer({ min: 4, max: 8 }).map((n) => ({ text: `${header}${bomb(n)}\n`, named: ["aliases expand to too much data"] })),
      fc.constantFrom("servers: [1\n", "agents: {\n", "\t- x\n", "a: b: c\n", "x: *nope\n").map((t) => ({
        text: `${header}${t}`,
        named: [],
      })),
    );
    let cases = 0;
    let peakHeap = 0;
    await fc.assert(
      fc.asyncProperty(badFile, async ({ text, named }) => {
        const path = join(dir, `c${cases++}.yaml`);
        writeFileSync(path, text);
        expectRefused(await cli(["config", "validate", path]), path, ...named);
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }),
      { numRuns: CONFIG_RUNS },
    );
    expect(cases).toBeGreaterThanOrEqual(CONFIG_RUNS);
    // A billion nodes or an alias bomb expanded would take gigabytes.
    expect(peakHeap).toBeLessThan(1024 * 1024 * 1024);
    console.log(`bad config files: ${cases} cases refused with exit 2, peak heap ${(peakHeap / 1024 / 1024).toFixed(0)} MB`);
  }, 120_000);
});
