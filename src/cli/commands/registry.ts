import { Command, Option } from "commander";
import {
  UsageError,
  connectRegistry,
  createRegistry,
  deleteRegistries,
  disconnectRegistry,
  getRegistry,
  listRegistries,
  type RegistryInput,
} from "../../index.js";
import { renderTable } from "../mode.js";
import { nameLines } from "../registry-names.js";
import { formatData, parseOutputFormat } from "../render.js";
import type { CliContext } from "../context.js";

interface CreateFlags extends Omit<RegistryInput, "name" | "port"> {
  port?: string;
  network?: string;
  output?: string;
}

export function registryCommand(ctx: CliContext): Command {
  const { dialect, mode } = ctx;
  const prog = mode.program;
  const options = { signal: ctx.signal, dialect };
  const registry = new Command("registry")
    .description("Create and manage local image registries")
    .alias("registries")
    .alias("reg");

  registry
    .command("create")
    .argument("<name>", `registry name (the container is ${dialect.prefix}-NAME)`)
    .description("Create a registry:2 container and print the names to reach it by")
    .option("-p, --port <[host:]port>", "where it is published on the host (default 127.0.0.1 and a free port)")
    .option("-i, --image <image>", "registry image", "registry:2")
    .option("-v, --volume <src[:dest]>", "named volume or absolute host path for its storage (default dest /var/lib/registry)")
    .option("--proxy-remote-url <url>", "make it a pull-through cache of this registry (e.g. https://registry-1.docker.io)")
    .option("--proxy-username <user>", "user name for the proxied registry")
    .addOption(
      // From the environment, the password stays out of the process list and the shell history.
      new Option("--proxy-password <password>", "password for the proxied registry").env("K3BOX_REGISTRY_PROXY_PASSWORD"),
    )
    .option("--delete-enabled", "allow deleting images through the registry API")
    .option("--network <name>", "Docker network to attach it to (default bridge)")
    .option("-o, --output <format>", "print the result as json or yaml")
    .addHelpText(
      "after",
      `
Examples:
  ${prog} registry create dev --port 5050
  docker tag app:dev 127.0.0.1:5050/app:dev && docker push 127.0.0.1:5050/app:dev
  ${prog} cluster create demo --registry-use dev        # pods then run image ${dialect.prefix}-dev:5000/app:dev
  ${prog} registry create hub --proxy-remote-url https://registry-1.docker.io   # a docker.io cache`,
    )
    .action(async (name: string, flags: CreateFlags) => {
      const { network, output, ...input } = flags;
      const format = output === undefined ? undefined : parseOutputFormat(output, ["json", "yaml"]);
      const r = await ctx.withProgress((onEvent, signal) =>
        createRegistry({ name, ...input }, { onEvent, signal, dialect, ...(network !== undefined ? { network } : {}) }),
      );
      if (format) {
        ctx.out(await formatData(format, r));
        return;
      }
      ctx.err(
        `Registry "${r.name}" created: container ${r.container}, plain http${r.proxyRemoteUrl ? `, a cache of ${r.proxyRemoteUrl}` : ""}`,
      );
      for (const line of nameLines(r)) ctx.err(line);
      ctx.err(
        `Use it: ${prog} cluster create NAME --registry-use ${r.name}, or ${prog} registry connect ${r.name} --cluster NAME`,
      );
    });

  registry
    .command("list")
    .aliases(mode.listGetAlias ? ["ls", "get"] : ["ls"])
    .argument("[names...]", "only these registries")
    .description("List registries, with the names to reach them by and the clusters using them")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .option("--no-headers", "omit the table header")
    .addHelpText("after", `\nExamples:\n  ${prog} registry list\n  ${prog} registry list dev -o json`)
    .action(async (names: string[], flags: { output: string; headers: boolean }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const all =
        names.length === 0 ? await listRegistries(options) : await Promise.all(names.map((n) => getRegistry(n, options)));
      ctx.out(
        format === "table"
          ? renderTable(mode.registryTable(all), flags.headers)
          : await formatData(format, all.map(mode.registryData)),
      );
    });

  if (!mode.listGetAlias) {
    registry
      .command("get")
      .argument("<name>", "registry name")
      .description("Show one registry")
      .option("-o, --output <format>", "table, json or yaml", "table")
      .addHelpText("after", `\nExamples:\n  ${prog} registry get dev -o yaml`)
      .action(async (name: string, flags: { output: string }) => {
        const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
        const r = await getRegistry(name, options);
        ctx.out(format === "table" ? renderTable(mode.registryTable([r]), true) : await formatData(format, r));
      });
  }

  registry
    .command("delete")
    .aliases(["rm", "del"])
    .argument("[names...]", "registries to delete")
    .description("Delete registries; one a cluster uses is refused unless --force, which disconnects it first")
    .option("-a, --all", `delete every ${prog} registry`)
    .option("-f, --force", "also delete registries clusters use (their nodes stop using them)")
    .addHelpText("after", `\nExamples:\n  ${prog} registry delete dev\n  ${prog} registry delete --all --force`)
    .action(async (names: string[], flags: { all?: boolean; force?: boolean }) => {
      let targets = names;
      if (flags.all) {
        if (names.length > 0) throw new UsageError("give registry names or --all, not both");
        targets = (await listRegistries(options)).map((r) => r.name);
      } else if (targets.length === 0) {
        throw new UsageError("give registry names or --all");
      }
      const deleted = await ctx.withProgress((onEvent, signal) =>
        deleteRegistries(targets, { onEvent, signal, dialect, force: flags.force ?? false }),
      );
      for (const name of deleted) ctx.err(`Registry "${name}" deleted`);
    });

  for (const [verb, run, help] of [
    ["connect", connectRegistry, "Attach a registry to a running cluster: every node pulls through it from now on"],
    ["disconnect", disconnectRegistry, "Detach a registry from a cluster: its nodes stop using it"],
  ] as const) {
    registry
      .command(verb)
      .argument("<name>", "registry name")
      .description(help)
      .requiredOption("-c, --cluster <cluster>", "the cluster")
      .addHelpText("after", `\nExamples:\n  ${prog} registry ${verb} dev --cluster demo`)
      .action(async (name: string, flags: { cluster: string }) => {
        await ctx.withProgress((onEvent, signal) => run(name, { cluster: flags.cluster, onEvent, signal, dialect }));
        ctx.err(`Registry "${name}" ${verb}ed ${verb === "connect" ? "to" : "from"} cluster "${flags.cluster}"`);
      });
  }

  return registry;
}
