/** Option parsers shared by commands. */
import { InvalidArgumentError, Option } from "commander";
import { UsageError, parseReadyLevel } from "../index.js";

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function count(what: string) {
  return (value: string): number => {
    // Past 2^53 a number is no longer the one typed; the bounds themselves are the library's.
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`invalid ${what} "${value}": a whole number`);
    }
    return Number(value);
  };
}

/** `--flag`, `--flag=true`, `--flag false`: k3d's boolean syntax. */
export function bool(value: string | undefined): boolean {
  if (value === undefined || value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new InvalidArgumentError(`invalid boolean "${value}": use true or false`);
}

/** `--wait-for LEVEL`, checked as the library checks it. */
export function waitForOption(): Option {
  return new Option(
    "--wait-for <level>",
    "what ready means: api (nodes Ready, /readyz), workloads (also pods can be created; default), addons (also CoreDNS and the other add-ons Available)",
  ).argParser((value: string) => {
    try {
      return parseReadyLevel(value);
    } catch (err) {
      if (err instanceof UsageError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  });
}
