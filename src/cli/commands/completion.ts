/**
 * Shell completion. `k3box completion bash|zsh|fish` prints a script that asks k3box itself for
 * candidates (`k3box __complete WORD...`), so commands and flags always match this version, and
 * cluster, node and registry names come from the engine.
 */
import { Command, type Option } from "commander";
import { listClusters, listNodes, listRegistries, UsageError } from "../../index.js";
import type { CliContext } from "../context.js";

type Names = "clusters" | "nodes" | "registries";

/** Which names a command's positional arguments are, by command path. */
const ARGUMENT_NAMES: Record<string, Names> = {
  "cluster get": "clusters",
  "cluster delete": "clusters",
  "cluster start": "clusters",
  "cluster stop": "clusters",
  "cluster restart": "clusters",
  "cluster edit": "clusters",
  "kubeconfig get": "clusters",
  "kubeconfig merge": "clusters",
  "node delete": "nodes",
  "node start": "nodes",
  "node stop": "nodes",
  "node get": "nodes",
  "registry get": "registries",
  "registry delete": "registries",
  "registry connect": "registries",
  "registry disconnect": "registries",
};

/** Which names an option's value is, by its long name, wherever it appears. */
const OPTION_NAMES: Record<string, Names> = { "--cluster": "clusters" };

const SHELLS = ["bash", "zsh", "fish"] as const;

const SCRIPTS: Record<(typeof SHELLS)[number], string> = {
  bash: `# k3box completion for bash: source <(k3box completion bash)
_k3box() {
  local IFS=$'\\n'
  COMPREPLY=($(k3box __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _k3box k3box
`,
  zsh: `#compdef k3box
# k3box completion for zsh: source <(k3box completion zsh), or save as _k3box in your $fpath
_k3box() {
  local -a candidates
  candidates=("\${(@f)$(k3box __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
if [ "$funcstack[1]" = "_k3box" ]; then _k3box "$@"; else compdef _k3box k3box; fi
`,
  fish: `# k3box completion for fish: k3box completion fish | source
complete -c k3box -f -a '(k3box __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`,
};

export function completionCommand(ctx: CliContext): Command {
  return new Command("completion")
    .argument("<shell>", SHELLS.join(", "))
    .description("Print the shell completion script for bash, zsh or fish")
    .addHelpText(
      "after",
      `
Completes commands, flags, and cluster, node and registry names from the engine.

Examples:
  source <(k3box completion bash)          # in ~/.bashrc
  source <(k3box completion zsh)           # in ~/.zshrc
  k3box completion fish | source           # in ~/.config/fish/config.fish`,
    )
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw new UsageError(`invalid shell "${shell}": use ${SHELLS.join(", ")}`);
      }
      ctx.out(SCRIPTS[shell as (typeof SHELLS)[number]]);
    });
}

/** The command line the completion scripts call: not parsed as a command, so any word may follow. */
export const COMPLETE = "__complete";

/**
 * What may come next: `words` are the words after `k3box`, the last one the one being typed
 * (empty at a new word). Names come from the engine; an engine that cannot be reached gives none.
 */
export async function candidates(root: Command, words: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const typed = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  let cmd = root;
  let path: string[] = [];
  let pending: Option | undefined;
  for (const w of before) {
    if (pending) {
      pending = undefined;
      continue;
    }
    if (w.startsWith("-")) {
      const opt = findOption(cmd, root, w);
      // `--flag=value` carries its value; a required value is the next word.
      if (opt?.required && !w.includes("=")) pending = opt;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) {
      cmd = sub;
      path = [...path, sub.name()];
    }
  }
  const matching = (xs: Iterable<string>) => [...new Set(xs)].filter((x) => x.startsWith(typed)).sort();
  if (pending) {
    const kind = OPTION_NAMES[pending.long ?? ""];
    return kind ? matching(await names(kind, signal)) : [];
  }
  if (typed.startsWith("-")) {
    const options = [...cmd.options, ...(cmd === root ? [] : root.options)].filter((o) => !o.hidden);
    return matching(options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
  }
  const subcommands = cmd.commands.map((c) => c.name());
  const kind = ARGUMENT_NAMES[path.join(" ")];
  return matching([...subcommands, ...(kind ? await names(kind, signal) : [])]);
}

function findOption(cmd: Command, root: Command, word: string): Option | undefined {
  const flag = word.split("=")[0];
  return [...cmd.options, ...root.options].find((o) => o.long === flag || o.short === flag);
}

async function names(kind: Names, signal?: AbortSignal): Promise<string[]> {
  try {
    switch (kind) {
      case "clusters":
        return (await listClusters({ ...(signal ? { signal } : {}) })).map((c) => c.name);
      case "nodes":
        return (await listNodes({ ...(signal ? { signal } : {}) })).map((n) => n.name);
      case "registries":
        return (await listRegistries({ ...(signal ? { signal } : {}) })).map((r) => r.name);
    }
  } catch {
    // Completion must never print errors into a person's command line.
    return [];
  }
}
