import { writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import {
  ConflictError,
  UsageError,
  buildClusterSpec,
  configSourceOf,
  loadConfig,
  migrateK3dConfig,
  readConfigSource,
  k3boxJsonSchema,
  readConfig,
  resolveClusterInput,
  specView,
  starterConfig,
} from "../../index.js";
import { addSpecFlags, resolveFromCommandLine, type SpecFlags } from "../cluster-flags.js";
import { formatData, parseOutputFormat } from "../render.js";
import type { CliContext } from "../context.js";

export function configCommand(ctx: CliContext): Command {
  const config = new Command("config").description("Write, check and show cluster config files");

  config
    .command("init")
    .description("Write a commented starter config file")
    .option("-o, --output <file>", "where to write it; - for stdout", "k3box.yaml")
    .option("-f, --force", "overwrite an existing file")
    .addHelpText(
      "after",
      "\nExamples:\n  k3box config init\n  k3box config init --output dev.yaml --force\n  k3box config init --output -",
    )
    .action(async (flags: { output: string; force?: boolean }) => {
      const text = starterConfig();
      if (flags.output === "-") {
        ctx.out(text);
        return;
      }
      try {
        await writeFile(flags.output, text, { flag: flags.force ? "w" : "wx" });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") {
          throw new ConflictError(`${flags.output} exists already: use --force to overwrite it`);
        }
        throw new UsageError(`cannot write ${flags.output}: ${(err as Error).message}`, { cause: err });
      }
      ctx.err(`Wrote ${flags.output}; create the cluster with: k3box cluster create --config ${flags.output}`);
    });

  config
    .command("validate")
    .argument("<file>", "config file; - for stdin")
    .description("Check a config file, k3box's or k3d's, without creating anything")
    .addHelpText(
      "after",
      "\nEvery problem is printed as FILE:LINE:COLUMN: FIELD: message; the exit code is then 2.\n\nExamples:\n  k3box config validate k3box.yaml\n  k3box config validate k3d.yaml",
    )
    .action(async (file: string) => {
      const loaded = await readConfig(file, process.env);
      const { input, build } = resolveClusterInput({ flags: {}, file: loaded });
      const spec = await buildClusterSpec(input, build);
      ctx.out(`${loaded.source.name}: valid ${loaded.format} config for cluster "${spec.name}"\n`);
    });

  const view = config
    .command("view")
    .description("Print the cluster spec that flags, K3BOX_* variables and a config file resolve to")
    .option("-o, --output <format>", "yaml or json", "yaml");
  addSpecFlags(view)
    .argument("[name]", "cluster name")
    .addHelpText(
      "after",
      "\nThe token is never shown.\n\nExamples:\n  k3box config view --config k3box.yaml\n  K3BOX_AGENTS=3 k3box config view --config k3box.yaml --servers 3",
    )
    .action(async (name: string | undefined, flags: SpecFlags & { output: string }) => {
      const format = parseOutputFormat(flags.output, ["yaml", "json"]);
      const { input, build } = await resolveFromCommandLine(view, name, flags);
      ctx.out(await formatData(format, specView(await buildClusterSpec(input, build))));
    });

  config
    .command("migrate")
    .alias("update")
    .argument("<input>", "a k3d config file (k3d.io/v1alpha2 to v1alpha5); - for stdin")
    .argument("[output]", "where to write the migrated file; - (the default) for stdout")
    .description("Rewrite a k3d config file of an older version as k3d.io/v1alpha5")
    .addHelpText(
      "after",
      `\nExamples:\n  ${ctx.mode.program} config migrate old.yaml new.yaml\n  ${ctx.mode.program} config migrate old.yaml`,
    )
    .action(async (input: string, output: string | undefined) => {
      const source = await readConfigSource(input);
      const text = await migrateK3dConfig(source.text, source.name);
      // What comes out must read as the current version; problems are reported before anything is written.
      const dir = output === undefined || output === "-" ? source.dir : dirname(resolve(output));
      const problems = (await loadConfig(await configSourceOf(output ?? "<migrated>", text, dir), process.env)).problems;
      if (problems.length > 0) throw new UsageError(problems.join("\n"));
      if (output === undefined || output === "-") {
        ctx.out(text);
        return;
      }
      try {
        await writeFile(output, text);
      } catch (err) {
        throw new UsageError(`cannot write ${output}: ${(err as Error).message}`, { cause: err });
      }
      ctx.err(`Wrote ${output} (k3d.io/v1alpha5)`);
    });

  config
    .command("schema")
    .description("Print the JSON Schema of k3box config files (for editors)")
    .addHelpText("after", "\nExamples:\n  k3box config schema > k3box-config.schema.json")
    .action(async () => {
      ctx.out(JSON.stringify(await k3boxJsonSchema(), null, 2) + "\n");
    });

  return config;
}
