/**
 * The part of a Dockerfile a memory build can honour: the base image (FROM, with ARG values
 * substituted) and the configuration lines. Commands (RUN, COPY...) are accepted and do nothing.
 */
import type { ImageConfig } from "./images.js";
import { engineError } from "./failure.js";

type Config = Pick<ImageConfig, "env" | "labels" | "entrypoint" | "cmd" | "volumes">;

export interface InterpretedDockerfile {
  /** The final stage's base image. */
  readonly from: string;
  /** Each instruction, as the build prints its steps. */
  readonly lines: readonly string[];
  /** What the final stage sets; an explicit `cmd: undefined` means ENTRYPOINT reset the base's CMD. */
  readonly config: Config;
}

const IGNORED = new Set([
  "RUN",
  "COPY",
  "ADD",
  "WORKDIR",
  "EXPOSE",
  "USER",
  "STOPSIGNAL",
  "HEALTHCHECK",
  "SHELL",
  "ONBUILD",
  "MAINTAINER",
]);

/** Dockerfile lines with continuations joined, comments and blank lines dropped. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let pending = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    out.push((pending + line).trim());
    pending = "";
  }
  if (pending.trim() !== "") out.push(pending.trim());
  return out;
}

function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars.get(a ?? b ?? "") ?? "");
}

/** `["a", "b"]` (exec form) or a shell command line (run by /bin/sh -c). */
function command(rest: string): string[] {
  if (rest.startsWith("[")) return JSON.parse(rest) as string[];
  return ["/bin/sh", "-c", rest];
}

function unquote(s: string): string {
  return /^".*"$|^'.*'$/.test(s) ? s.slice(1, -1) : s;
}

/** `k=v k2="v 2"` or the legacy `k v` form. */
function pairs(rest: string): Record<string, string> {
  if (!/^\S+=/.test(rest)) {
    const [k, ...v] = rest.split(/\s+/);
    return { [k as string]: v.join(" ") };
  }
  const out: Record<string, string> = {};
  for (const m of rest.matchAll(/(\S+?)=("[^"]*"|'[^']*'|\S*)/g)) out[m[1] as string] = unquote(m[2] as string);
  return out;
}

export function interpretDockerfile(text: string, buildArgs: Readonly<Record<string, string>>): InterpretedDockerfile {
  const args = new Map<string, string>();
  const stages = new Map<string, string>();
  let from: string | undefined;
  let config: Config = {};
  const lines = instructions(text);
  for (const line of lines) {
    const [keyword = "", ...restParts] = line.split(/\s+/);
    const rest = restParts.join(" ");
    const kw = keyword.toUpperCase();
    if (kw === "ARG") {
      const [name = "", value] = rest.split("=", 2);
      const v = buildArgs[name] ?? (value !== undefined ? unquote(value) : undefined);
      if (v !== undefined) args.set(name, v);
    } else if (kw === "FROM") {
      const words = rest.split(/\s+/).filter((w) => !w.startsWith("--"));
      const image = substitute(words[0] ?? "", args);
      from = stages.get(image) ?? image;
      if (words[1]?.toUpperCase() === "AS" && words[2]) stages.set(words[2], from);
      config = {};
    } else if (from === undefined) {
      throw engineError(500, `dockerfile parse error: ${kw} before any FROM`);
    } else if (kw === "ENV") {
      config = { ...config, env: { ...config.env, ...pairs(rest) } };
    } else if (kw === "LABEL") {
      config = { ...config, labels: { ...config.labels, ...pairs(rest) } };
    } else if (kw === "ENTRYPOINT") {
      config = {
        ...config,
        entrypoint: command(rest),
        ...("cmd" in config && config.cmd !== undefined ? {} : { cmd: undefined }),
      };
    } else if (kw === "CMD") {
      config = { ...config, cmd: command(rest) };
    } else if (kw === "VOLUME") {
      config = {
        ...config,
        volumes: [...(config.volumes ?? []), ...(rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/))],
      };
    } else if (!IGNORED.has(kw)) {
      throw engineError(500, `dockerfile parse error: unknown instruction: ${keyword}`);
    }
  }
  if (from === undefined) throw engineError(500, "the Dockerfile has no FROM");
  return { from, lines, config };
}
