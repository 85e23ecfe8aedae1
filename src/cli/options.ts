/** Option parsers shared by commands. */
import { type Command, InvalidArgumentError, Option } from "commander";
import { UsageError, parseReadyLevel } from "../index.js";

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A repeatable flag whose values may also be comma-separated, as cobra's string slices read them. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").filter((v) => v !== "")];
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

/** Go's strconv.ParseBool forms, which k3d's flags (cobra) accept. */
const TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

/** Whether `text` is a boolean in Go's forms; undefined if it is none. */
export function parseGoBool(text: string): boolean | undefined {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return undefined;
}

/** `--flag`, `--flag=true`, `--flag false`, and every Go form (`1`, `t`, `FALSE`…): k3d's boolean syntax. */
export function bool(value: string | undefined): boolean {
  if (value === undefined) return true;
  const parsed = parseGoBool(value);
  if (parsed === undefined) {
    throw new InvalidArgumentError(
      `invalid boolean "${value}": use true or false (or 1, t, T, TRUE, True, 0, f, F, FALSE, False)`,
    );
  }
  return parsed;
}

/** The command argv selects, and the commands above it (whose options it inherits), outermost first. */
function commandChain(program: Command, argv: readonly string[]): Command[] {
  const chain = [program];
  for (const arg of argv) {
    if (arg === "--") break;
    if (arg.startsWith("-")) continue;
    const current = chain[chain.length - 1] as Command;
    const sub = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    chain.push(sub);
  }
  return chain;
}

/**
 * Boolean flags as cobra reads them, for k3d's scripts: `--flag=VALUE` with any Go form for a flag
 * that takes no value (`--flag=true` becomes `--flag`; `--flag=false` is dropped, so
 * `--no-x=false` means x after all), and a flag with an optional boolean value (`--wait [bool]`)
 * takes the next word only if it is a boolean: `--wait mycluster` leaves `mycluster` a positional
 * argument. Flags that take a value, and everything after `--`, are left alone.
 */
export function normalizeBooleanFlags(program: Command, argv: readonly string[]): string[] {
  const options: Option[] = commandChain(program, argv).flatMap((c) => [...c.options]);
  const out: string[] = [];
  let rest = false;
  for (const [i, arg] of argv.entries()) {
    rest ||= arg === "--";
    if (rest) {
      out.push(arg);
      continue;
    }
    const m = /^(-[A-Za-z]|--[^=]+)=(.*)$/.exec(arg);
    const named = m ? options.find((o) => o.long === m[1] || o.short === m[1]) : undefined;
    if (m && named && !named.required && !named.optional) {
      const value = parseGoBool(m[2] as string);
      if (value === undefined) throw new UsageError(`invalid boolean "${m[2]}" for ${m[1]}: use true or false (or 1, t, 0, f…)`);
      if (value) out.push(m[1] as string);
      continue;
    }
    if (m && named?.optional && named.long !== undefined && m[1] === named.short) {
      // `-s=false`, as pflag reads it; commander knows only the long form with `=`.
      out.push(`${named.long}=${m[2]}`);
      continue;
    }
    const optionalBool = options.find((o) => (o.long === arg || o.short === arg) && o.optional && o.parseArg === bool);
    const next = argv[i + 1];
    if (optionalBool && next !== undefined && !next.startsWith("-") && parseGoBool(next) === undefined) {
      out.push(`${optionalBool.long ?? arg}=true`);
      continue;
    }
    out.push(arg);
  }
  return out;
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
