/**
 * What runs inside memory containers: a program per container start (its log lines, when it
 * exits) and answers to `exec`. Tests script both; the latest registration that matches wins.
 */
import type { ContainerSpec, ExecResult } from "../../../src/runtime/types.js";
import type { ContainerFiles } from "./files.js";

/** Which containers a script applies to: a name, a pattern on the name, or a test on name and spec. */
export type ContainerMatch = string | RegExp | ((container: { readonly name: string; readonly spec: ContainerSpec }) => boolean);

/** Which commands an exec answer applies to: the exact argv, or a test on it. */
export type ArgvMatch = readonly string[] | ((argv: readonly string[]) => boolean);

export interface ProcessContext {
  /** The container's name when it started. */
  readonly container: string;
  readonly spec: ContainerSpec;
  /** Aborts when the run ends (stopped, removed, exited); on a stop, an `exit` in its listener sets the exit code. */
  readonly signal: AbortSignal;
  /** Lines the process prints (stdout and stderr alike); ignored once the run ended. */
  log(...lines: string[]): void;
  /** The process ends with this code; later calls do nothing. */
  exit(code: number): void;
  readonly files: ContainerFiles;
}

/**
 * A container's main process, called at every start. Without one, a container runs until it is
 * stopped and prints nothing. If it throws, the container exits with code 1.
 */
export type Program = (ctx: ProcessContext) => void | Promise<void>;

export interface ExecContext {
  readonly container: string;
  readonly argv: readonly string[];
  /** All of stdin, when the call passed one; cut short if the caller destroyed it. */
  readonly stdin?: Buffer;
  readonly signal?: AbortSignal;
  readonly files: ContainerFiles;
  /** Appends lines to the container's log, as a command talking to its main process may cause. */
  log(...lines: string[]): void;
}

export type ExecHandler = (ctx: ExecContext) => Partial<ExecResult> | Promise<Partial<ExecResult>>;

function matchesContainer(match: ContainerMatch, c: { readonly name: string; readonly spec: ContainerSpec }): boolean {
  if (typeof match === "string") return match === c.name;
  if (match instanceof RegExp) return match.test(c.name);
  return match(c);
}

function matchesArgv(match: ArgvMatch, argv: readonly string[]): boolean {
  if (typeof match === "function") return match(argv);
  return match.length === argv.length && match.every((a, i) => a === argv[i]);
}

export class Behaviour {
  private readonly programs: Array<{ match: ContainerMatch; program: Program }> = [];
  private readonly handlers: Array<{ match: ContainerMatch; argv: ArgvMatch; handler: ExecHandler }> = [];

  addProgram(match: ContainerMatch, program: Program): () => void {
    const entry = { match, program };
    this.programs.push(entry);
    return () => remove(this.programs, entry);
  }

  addExec(match: ContainerMatch, argv: ArgvMatch, handler: ExecHandler): () => void {
    const entry = { match, argv, handler };
    this.handlers.push(entry);
    return () => remove(this.handlers, entry);
  }

  program(c: { readonly name: string; readonly spec: ContainerSpec }): Program | undefined {
    return this.programs.findLast((p) => matchesContainer(p.match, c))?.program;
  }

  exec(c: { readonly name: string; readonly spec: ContainerSpec }, argv: readonly string[]): ExecHandler {
    return this.handlers.findLast((h) => matchesContainer(h.match, c) && matchesArgv(h.argv, argv))?.handler ?? notFound;
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** What Docker answers for a program the container does not have: exit 126, runc's message on stdout. */
const notFound: ExecHandler = ({ argv }) => ({
  exitCode: 126,
  stdout: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv[0] ?? ""}": executable file not found in $PATH: unknown\r\n`,
  stderr: "",
});
