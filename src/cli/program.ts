import { Command, CommanderError } from "commander";
import type { Readable } from "node:stream";
import { K3boxError, NodeFailedError, TimeoutError, UsageError, chooseEngine } from "../index.js";
import { bundleCommand } from "./commands/bundle.js";
import { clusterCommand } from "./commands/cluster.js";
import { COMPLETE, candidates, completionCommand } from "./commands/completion.js";
import { configCommand } from "./commands/config.js";
import { doctorCommand } from "./commands/doctor.js";
import { imageCommand } from "./commands/image.js";
import { kubeconfigCommand } from "./commands/kubeconfig.js";
import { nodeImageCommand } from "./commands/node-image.js";
import { registryCommand } from "./commands/registry.js";
import { nodeCommand } from "./commands/node.js";
import { applyColourPolicy } from "./colour.js";
import { debugCommand } from "./commands/debug.js";
import { linkCommand } from "./commands/link.js";
import { versionCommand } from "./commands/version.js";
import type { CliContext } from "./context.js";
import { EXIT, exitCodeFor } from "./exit.js";
import { K3BOX_MODE, versionFacts, type CliMode } from "./mode.js";
import { normalizeBooleanFlags } from "./options.js";
import { createProgress } from "./progress.js";
import { timestamped } from "./timestamps.js";

export interface Streams {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Read by commands taking `-` as input; defaults to the process's stdin. */
  readonly stdin?: Readable;
}

/**
 * Parses and runs one command line; returns the exit code. Only main.ts exits the process. `mode`
 * is the command line spoken: k3box's own, or k3d's (main.ts picks it from the program's name).
 */
export async function run(
  argv: readonly string[],
  streams: Streams,
  signal: AbortSignal,
  mode: CliMode = K3BOX_MODE,
): Promise<number> {
  applyColourPolicy();
  let verbose = false;
  let quiet = false;
  let stderr = streams.stderr;
  const ctx: CliContext = {
    signal,
    mode,
    dialect: mode.dialect,
    out: (text) => streams.stdout.write(text),
    err: (line) => stderr.write(line + "\n"),
    async withProgress(fn) {
      const progress = await createProgress(stderr, quiet);
      try {
        return await fn(progress.onEvent, signal);
      } finally {
        progress.stop();
      }
    },
  };
  const program = new Command(mode.program)
    .description(mode.description)
    .version(mode.version(versionFacts(undefined)).flag, "--version", "print the version")
    .option("--verbose", "print stack traces of errors")
    .option("--trace", "print stack traces of errors (as --verbose)")
    .option("--timestamps", "start every progress line with the time, and draw no spinner")
    .option("-q, --quiet", "no progress output")
    .option(
      "--engine <engine>",
      "the Docker engine: unix://, tcp://, ssh://[USER@]HOST or a Docker context (default: K3BOX_ENGINE, DOCKER_HOST, the current context)",
    )
    .configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
    })
    .exitOverride()
    .showHelpAfterError(false)
    .hook("preAction", (cmd) => {
      const opts = cmd.optsWithGlobals<{
        verbose?: boolean;
        trace?: boolean;
        timestamps?: boolean;
        quiet?: boolean;
        engine?: string;
      }>();
      chooseEngine(opts.engine !== undefined ? { value: opts.engine, from: "--engine" } : undefined);
      verbose = (opts.verbose ?? false) || (opts.trace ?? false);
      quiet = opts.quiet ?? false;
      if (opts.timestamps) stderr = timestamped(streams.stderr);
    });
  const commands: (() => Command)[] = [
    () => clusterCommand(ctx),
    () => nodeCommand(ctx),
    () => kubeconfigCommand(ctx),
    () => nodeImageCommand(ctx),
    () => configCommand(ctx),
    () => registryCommand(ctx),
    () => imageCommand(ctx, () => streams.stdin ?? process.stdin),
    () => doctorCommand(ctx),
    () => bundleCommand(ctx),
    () => versionCommand(ctx),
    () => linkCommand(ctx),
    () => debugCommand(ctx),
    () => completionCommand(ctx),
  ];
  // Defining every command's flags is a good part of the start-up time: the commands after the
  // one the command line names are left out. Help, completion and a word that names no command
  // get them all.
  const named = argv[0] === COMPLETE ? undefined : firstOperand(program, argv);
  for (const command of commands) {
    const cmd = command();
    program.addCommand(cmd);
    if (named !== undefined && (cmd.name() === named || cmd.aliases().includes(named))) break;
  }
  for (const cmd of program.commands) inheritOverrides(cmd, streams);

  if (argv[0] === COMPLETE) {
    for (const c of await candidates(program, argv.slice(1), signal)) ctx.out(`${c}\n`);
    return EXIT.ok;
  }

  try {
    await program.parseAsync(normalizeBooleanFlags(program, argv), { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
        return EXIT.ok;
      }
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    report(err, streams, verbose);
    return exitCodeFor(err);
  }
}

/** The command line's first word that is neither one of the program's options nor such an option's value. */
function firstOperand(program: Command, argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") return undefined;
    if (!arg.startsWith("-")) return arg;
    const option = program.options.find((o) => o.long === arg || o.short === arg);
    if (option?.required || (option?.optional && !argv[i + 1]?.startsWith("-"))) i++;
  }
  return undefined;
}

function inheritOverrides(cmd: Command, streams: Streams): void {
  cmd.exitOverride().configureOutput({
    writeOut: (s) => streams.stdout.write(s),
    writeErr: (s) => streams.stderr.write(s),
  });
  for (const sub of cmd.commands) inheritOverrides(sub, streams);
}

function report(err: unknown, streams: Streams, verbose: boolean): void {
  const write = (s: string) => streams.stderr.write(s + "\n");
  if (err instanceof K3boxError) {
    for (const line of err.message.split("\n")) write(`error: ${line}`);
    const tail = err instanceof NodeFailedError || err instanceof TimeoutError ? err.logTail : [];
    const node = err instanceof NodeFailedError ? err.node : err instanceof TimeoutError ? err.node : undefined;
    if (tail.length > 0) {
      write(`last log lines of ${node}:`);
      for (const l of tail) write(`  ${l}`);
    }
    if (verbose && err.stack) write(err.stack);
    return;
  }
  write(`error: ${(err as Error)?.message ?? String(err)}`);
  if (verbose || !(err instanceof UsageError)) {
    write((err as Error)?.stack ?? "");
    write("This is a bug in k3box; please report it with the output above.");
  }
}
