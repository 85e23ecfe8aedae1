/** When output is coloured: a person's NO_COLOR, a script's FORCE_COLOR, else what the terminal can do. */
import chalk from "chalk";

/**
 * NO_COLOR with any non-empty value (no-color.org) turns colour off, on a terminal too. FORCE_COLOR
 * keeps the meaning chalk documents (0 or false: none; 1-3: that level; empty or true: on) and
 * wins over NO_COLOR, as the more specific request. Without either, chalk reads the terminal.
 */
export function applyColourPolicy(env: NodeJS.ProcessEnv = process.env): void {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "" && !("FORCE_COLOR" in env)) chalk.level = 0;
}
