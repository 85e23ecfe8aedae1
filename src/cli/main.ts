#!/usr/bin/env node
import { statSync } from "node:fs";
import { CONFIG_ENV_VAR, CancelledError } from "../index.js";
import { EXIT, exitCodeFor } from "./exit.js";
import { mayDecompress, runLean } from "./memory.js";
import { modeFor } from "./mode.js";
import { run } from "./program.js";

// The one place that exits. The first Ctrl-C or SIGTERM cancels the operation, which
// rolls back what it created; a second one exits at once.
const controller = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals) => {
  signals++;
  if (signals === 1) {
    process.stderr.write(`\n${sig} received: cancelling and cleaning up (again to quit at once)\n`);
    controller.abort(new CancelledError(`cancelled by ${sig}`));
  } else {
    process.exit(EXIT.cancelled);
  }
};
process.on("SIGINT", onSignal);
// `k3box … | head` closes the pipe early; that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(EXIT.ok);
});
process.on("SIGTERM", onSignal);

// A config file named by the environment may name a bundle too.
const named = [...process.argv.slice(2), process.env[CONFIG_ENV_VAR] ?? ""];
if (!mayDecompress(named, (p) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false)) {
  runLean();
}

// Called as `k3d` (a link or copy), or with K3BOX_COMPAT=k3d, k3box speaks k3d's command line.
let code: number;
try {
  const mode = modeFor(process.argv[1], process.env);
  code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, controller.signal, mode);
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  code = exitCodeFor(err);
}
process.exitCode = code;
// Sockets to the engine may keep the loop alive; the work is done.
setImmediate(() => process.exit(code));
