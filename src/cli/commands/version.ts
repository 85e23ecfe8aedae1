import { Command } from "commander";
import { DEFAULT_K3S_IMAGE, K3D_COMPAT_VERSION, UsageError, engineInfo } from "../../index.js";
import type { CliContext } from "../context.js";
import { imageTag, versionFacts } from "../mode.js";
import { count } from "../options.js";
import { formatData, parseOutputFormat } from "../render.js";

/** What `version list COMPONENT` knows without a network: the releases k3box itself uses. */
const COMPONENTS: Readonly<Record<string, { readonly repo: string; readonly tags: readonly string[] }>> = {
  k3s: { repo: DEFAULT_K3S_IMAGE.slice(0, DEFAULT_K3S_IMAGE.lastIndexOf(":")), tags: [imageTag(DEFAULT_K3S_IMAGE)] },
  k3d: { repo: "ghcr.io/k3d-io/k3d", tags: [K3D_COMPAT_VERSION] },
  // k3box builds its own load balancer and needs no tools image: there are no such releases to use.
  "k3d-proxy": { repo: "ghcr.io/k3d-io/k3d-proxy", tags: [] },
  "k3d-tools": { repo: "ghcr.io/k3d-io/k3d-tools", tags: [] },
};

/** k3d's default: no pre-releases, architecture-specific tags or digests. */
const DEFAULT_EXCLUDE = "^sha-|.+(rc|engine|dind|alpha|beta|dev|test|arm|arm64|amd64|s390x).*";

function regex(text: string, flag: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw new UsageError(`invalid ${flag} "${text}": ${(err as Error).message}`);
  }
}

interface VersionFlags {
  output?: string;
  include: string;
  exclude: string;
  format?: string;
  sort: string;
  limit: number;
}

/**
 * `version [-o json]` and `version list COMPONENT [-o raw|repo]…` as one command: commander would
 * give a parent's `-o` to the parent wherever it stands, and `list`'s is a different one.
 */
export function versionCommand(ctx: CliContext): Command {
  const { mode } = ctx;
  const prog = mode.program;
  return new Command("version")
    .argument("[list]", "list: the releases of a component k3box knows (offline: those it uses)")
    .argument("[component]", `with list: one of ${Object.keys(COMPONENTS).join(", ")}`)
    .description(`Print ${prog}'s version and the default k3s release, or list releases`)
    .option("-o, --output <format>", "version: json (with the k3s image, Node.js and the engine); list: raw or repo")
    .option("-i, --include <regexp>", "list: only tags matching", ".*")
    .option(
      "-e, --exclude <regexp>",
      "list: no tags matching (default: pre-releases, arch-specific tags, digests)",
      DEFAULT_EXCLUDE,
    )
    .option("-f, --format <format>", "list: the same as --output (k3d's deprecated name)")
    .option("-s, --sort <mode>", "list: asc, desc or off", "desc")
    .option("-l, --limit <n>", "list: at most this many (0: all)", count("limit"), 0)
    .addHelpText(
      "after",
      `\nExamples:\n  ${prog} version\n  ${prog} version -o json\n  ${prog} version list k3s\n  ${prog} version list k3s -o repo`,
    )
    .action(async (action: string | undefined, component: string | undefined, flags: VersionFlags) => {
      if (action === undefined) {
        await printVersion(ctx, flags.output);
        return;
      }
      if (action !== "list" && action !== "ls")
        throw new UsageError(`unknown argument "${action}": use version [list COMPONENT]`);
      if (component === undefined) throw new UsageError(`version list needs a component: ${Object.keys(COMPONENTS).join(", ")}`);
      listVersions(ctx, component, flags);
    });
}

async function printVersion(ctx: CliContext, output: string | undefined): Promise<void> {
  if (output === undefined || output === "") {
    ctx.out(ctx.mode.version(versionFacts(undefined)).text);
    return;
  }
  parseOutputFormat(output, ["json"]);
  // An engine that does not answer leaves its version out; the rest is known without it.
  const engine = await engineInfo({ signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5000)]) }).then(
    (i) => ({ name: i.name, version: i.version, apiVersion: i.apiVersion }),
    () => undefined,
  );
  ctx.out(await formatData("json", ctx.mode.version(versionFacts(engine)).data));
}

function listVersions(ctx: CliContext, component: string, flags: VersionFlags): void {
  const c = COMPONENTS[component];
  if (!c) throw new UsageError(`unknown component "${component}": use ${Object.keys(COMPONENTS).join(", ")}`);
  const output = flags.format ?? flags.output ?? "raw";
  if (output !== "raw" && output !== "repo") throw new UsageError(`invalid output format "${output}": use raw or repo`);
  if (!["asc", "desc", "off"].includes(flags.sort))
    throw new UsageError(`invalid sort mode "${flags.sort}": use asc, desc or off`);
  const include = regex(flags.include, "--include");
  const exclude = flags.exclude === "" ? undefined : regex(flags.exclude, "--exclude");
  let tags = c.tags.filter((t) => include.test(t) && !exclude?.test(t));
  if (flags.sort !== "off") {
    const order = flags.sort === "asc" ? 1 : -1;
    tags = [...tags].sort((a, b) => order * a.replace(/^v/, "").localeCompare(b.replace(/^v/, ""), "en", { numeric: true }));
  }
  if (flags.limit > 0) tags = tags.slice(0, flags.limit);
  if (c.tags.length === 0) ctx.err(`note: k3box uses no ${component} image; its load balancer is built locally`);
  ctx.out(tags.map((t) => (output === "repo" ? `${c.repo}:${t}` : t)).join("\n") + (tags.length > 0 ? "\n" : ""));
}
