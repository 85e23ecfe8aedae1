/**
 * The CLI on a real terminal: a pseudo-terminal from script(1), sized like a person's, with the
 * keys a person presses written to it. Ctrl-C must cancel and roll back; NO_COLOR must hold;
 * progress must name every running step in the present and finished ones in the past.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI, DOUBLE_IMAGE, Sandbox, leftovers } from "./helpers.js";

interface TerminalRun {
  readonly code: number | null;
  /** Everything the terminal showed, escape sequences included. */
  readonly screen: string;
}

const ESC = "\x1b";
/** Colour (SGR) sequences; the spinner's cursor movements are other sequences. */
const SGR = new RegExp(`${ESC}\\[[0-9;]*m`);
/** The text without escape sequences. */
const plain = (screen: string) => screen.replace(new RegExp(`${ESC}\\[[0-9;?]*[a-zA-Z]`, "g"), "");

/**
 * Runs the CLI on a fresh pseudo-terminal of 120x40. `keys` is called with everything shown so far
 * and returns what to type, if anything. The command line reaches the shell only as variables.
 */
function onTerminal(
  sb: Sandbox,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  keys: (screen: string) => string | undefined,
): Promise<TerminalRun> {
  const vars = Object.fromEntries(args.map((a, i) => [`K3BOX_ARG${i}`, a]));
  const command = `stty cols 120 rows 40 && exec "$K3BOX_NODE" "$K3BOX_CLI" ${args.map((_, i) => `"$K3BOX_ARG${i}"`).join(" ")}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...sb.env,
    ...vars,
    ...env,
    K3BOX_NODE: process.execPath,
    K3BOX_CLI: CLI,
    SHELL: "/bin/sh",
    TERM: "xterm-256color",
  };
  // CI marks the terminal as not interactive for the spinner library; a person's terminal is not CI.
  delete childEnv.CI;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const child = spawn("script", ["-q", "-e", "-E", "never", "-c", command, "/dev/null"], {
    env: childEnv,
    stdio: ["pipe", "pipe", "inherit"],
  });
  let screen = "";
  child.stdout.on("data", (b: Buffer) => {
    screen += b.toString("utf8");
    const typed = keys(screen);
    if (typed !== undefined) child.stdin.write(typed);
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, screen })));
}

/** Types Ctrl-C once, when `when` first shows up. */
function ctrlCWhen(when: RegExp): (screen: string) => string | undefined {
  let sent = false;
  return (screen) => {
    if (sent || !when.test(screen)) return undefined;
    sent = true;
    return "\x03";
  };
}

describe("on a terminal", () => {
  it("Ctrl-C during cluster create cancels it and rolls back (exit 130); progress is coloured and in the right tense", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("ctrlc");
      // The agents come up slowly, so Ctrl-C falls while both are being started.
      const slowAgents = "K3S_DOUBLE_START_DELAY_MS=60000@agent:*";
      const args = ["cluster", "create", name, "-a", "2", "-i", DOUBLE_IMAGE, "-e", slowAgents];
      const parallel = new RegExp(`Starting k3box-${name}-agent-\\d, k3box-${name}-agent-\\d`);
      const r = await onTerminal(sb, args, {}, ctrlCWhen(parallel));
      const text = plain(r.screen);
      expect(r.code, text.slice(-2000)).toBe(130);
      expect(text).toContain("cancelling and cleaning up");
      expect(text).toContain(`error: creating cluster "${name}": cancelled`);
      expect(await leftovers(name)).toEqual([]);

      // Running steps in the present, several at once; finished ones in the past, never running again.
      expect(text).toContain(`✓ Started k3box-${name}-server-0`);
      expect(text).not.toMatch(/Started k3box-[^\n]*…/);
      for (const done of text.matchAll(/✓ Started (k3box-[a-z0-9-]+)/g)) {
        const later = text.slice((done.index ?? 0) + done[0].length);
        expect(later).not.toMatch(new RegExp(`Starting [^…]*${done[1]}(,|…| \\()`));
      }
      expect(r.screen).toMatch(SGR);
    } finally {
      await sb.dispose();
    }
  });

  it("NO_COLOR turns colour off on a terminal, the spinner stays; FORCE_COLOR=0 does the same", async () => {
    const sb = await Sandbox.create();
    try {
      for (const env of [
        { NO_COLOR: "1", FORCE_COLOR: undefined },
        { FORCE_COLOR: "0", NO_COLOR: undefined },
      ]) {
        const name = sb.name("nocolor");
        // A create that fails at its first pull: quick, and it shows progress.
        const args = ["cluster", "create", name, "-i", "k3box-nonexistent.invalid/k3s:v1", "--no-lb"];
        const r = await onTerminal(sb, args, env, () => undefined);
        expect(r.code, plain(r.screen)).toBe(6);
        expect(r.screen).toContain("✓ Checked the engine, host ports and kubeconfig");
        // The spinner ran (cursor control), but nothing was coloured.
        expect(r.screen).toContain("\x1b[?25l");
        expect(r.screen).not.toMatch(SGR);
        expect(await leftovers(name)).toEqual([]);
      }
    } finally {
      await sb.dispose();
    }
  });
});

describe("exit codes from the engine", () => {
  it("an image that does not exist and cannot be pulled exits 6, and leaves nothing", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("noimage");
      const r = await sb.k3box(["cluster", "create", name, "-i", "k3box-nonexistent.invalid/k3s:v1"]);
      expect(r.stderr).toContain('cannot pull image "k3box-nonexistent.invalid/k3s:v1"');
      expect(r.code).toBe(6);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await sb.dispose();
    }
  });

  it.each([
    ["garbage://x", 'cannot reach the Docker engine (DOCKER_HOST=garbage://x: unsupported scheme "garbage"'],
    [
      "tcp://k3box-nonexistent.invalid:2375",
      "cannot reach the Docker engine (ENOTFOUND at tcp://k3box-nonexistent.invalid:2375)",
    ],
  ])("DOCKER_HOST=%s exits 3", async (host, message) => {
    const sb = await Sandbox.create();
    try {
      const r = await sb.k3box(["cluster", "list"], { DOCKER_HOST: host });
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain("This is a bug");
      expect(r.code).toBe(3);
    } finally {
      await sb.dispose();
    }
  });
});
