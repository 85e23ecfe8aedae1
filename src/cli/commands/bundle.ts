import { Command, Option } from "commander";
import { createBundle, loadBundle, type BundleResult } from "../../index.js";
import { addSpecFlags, resolveFromCommandLine, type SpecFlags } from "../cluster-flags.js";
import type { CliContext } from "../context.js";
import { collect } from "../options.js";
import { formatData, parseOutputFormat } from "../render.js";

export function bundleCommand(ctx: CliContext): Command {
  const bundle = new Command("bundle").description("Move a cluster's images, charts and manifests to an offline machine");

  const create = bundle
    .command("create")
    .argument("[name]", "cluster name (as cluster create takes it)")
    .description("Write a bundle of everything a cluster needs offline: its images, charts and manifests")
    .addOption(new Option("-o, --output <file>", "the bundle file: .tar, or .tar.zst for zstd").makeOptionMandatory())
    .option("--image-extra <image>", "an image of yours the nodes run too (repeatable)", collect, [])
    .option("--format <format>", "print the bundle's contents as json or yaml");
  addSpecFlags(create)
    .addHelpText(
      "after",
      `
Takes the flags and config file of cluster create. Missing images are pulled first. The images
are those of k3box image list; charts must be packaged (.tgz). Writing .tar.zst compresses in
WebAssembly: slower than .tar, about half the size.

On the offline machine:
  k3box bundle load bundle.tar
  k3box cluster create -c k3box.yaml --bundle bundle.tar

Examples:
  k3box bundle create -c k3box.yaml -o bundle.tar
  k3box bundle create -c k3box.yaml --image-extra myapp:1.0 --helm-chart app=./app-1.0.0.tgz -o app.tar.zst`,
    )
    .action(async (name: string | undefined, flags: SpecFlags & { output: string; imageExtra: string[]; format?: string }) => {
      const format = flags.format === undefined ? undefined : parseOutputFormat(flags.format, ["json", "yaml"]);
      const { input, build } = await resolveFromCommandLine(create, name, flags);
      const result = await ctx.withProgress((onEvent, signal) =>
        createBundle(input, { output: flags.output, extraImages: flags.imageExtra, build, onEvent, signal }),
      );
      if (format) ctx.out(await formatData(format, result));
      else summary(ctx, result);
    });

  bundle
    .command("load")
    .argument("<file>", "a bundle written by bundle create (.tar or .tar.zst)")
    .description("Check a bundle's sums, then load its images into the Docker engine")
    .option("-o, --output <format>", "print what was loaded as json or yaml")
    .addHelpText(
      "after",
      `
Every entry is checked against the sums in the bundle before anything is loaded: a damaged
bundle is refused (exit 2) and the engine is left as it was.

Examples:
  k3box bundle load bundle.tar
  k3box bundle load bundle.tar.zst -o json`,
    )
    .action(async (file: string, flags: { output?: string }) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const result = await ctx.withProgress((onEvent, signal) => loadBundle(file, { onEvent, signal }));
      if (format) {
        ctx.out(await formatData(format, result));
        return;
      }
      ctx.err(`Loaded ${result.loaded.length} image${result.loaded.length === 1 ? "" : "s"} from ${result.path}`);
      for (const image of result.loaded) ctx.err(`  ${image}`);
      ctx.err(`  next: k3box cluster create --bundle ${result.path} ...`);
    });

  return bundle;
}

function summary(ctx: CliContext, r: BundleResult): void {
  const bytes = r.entries.reduce((n, e) => n + e.size, 0);
  ctx.err(`Bundle ${r.path} written: ${(bytes / 1024 / 1024).toFixed(1)} MiB before compression`);
  if (r.k3s.version !== undefined) ctx.err(`  k3s ${r.k3s.version}`);
  ctx.err(`  engine images: ${r.images.engine.map((i) => i.image).join(", ") || "none"}`);
  ctx.err(`  node images:   ${r.images.nodes.map((i) => i.image).join(", ") || "none"}`);
  if (r.charts.length > 0) ctx.err(`  charts:        ${r.charts.join(", ")}`);
  if (r.manifests.length > 0) ctx.err(`  manifests:     ${r.manifests.join(", ")}`);
}
