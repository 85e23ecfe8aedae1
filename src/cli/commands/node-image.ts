import { Command } from "commander";
import { buildNodeImage, DEFAULT_K3S_IMAGE } from "../../index.js";
import { formatData, parseOutputFormat } from "../render.js";
import type { CliContext } from "../context.js";

export function nodeImageCommand(ctx: CliContext): Command {
  const nodeImage = new Command("node-image").description("Build the k3box node image (Dockerfile.node)");

  nodeImage
    .command("build")
    .description("Build a node image: a k3s image with k3box's node fixes baked in and images preloaded for offline use")
    .option("--from <image>", "the k3s image to build on", DEFAULT_K3S_IMAGE)
    .option("-t, --tag <image>", "tag of the result (default: k3box/node:<tag of --from>)")
    .option("--preload <dir>", "a directory of image tarballs (docker save, optionally compressed) that k3s imports at start")
    .option("-o, --output <format>", "print the result as json or yaml")
    .addHelpText(
      "after",
      `
The tag is printed on stdout; use it with cluster create --image.

Examples:
  k3box node-image build
  docker save busybox:latest -o images/busybox.tar
  k3box node-image build --from rancher/k3s:v1.35.5-k3s1 --tag my/node:offline --preload images/
  k3box cluster create offline --image my/node:offline`,
    )
    .action(async (flags: { from: string; tag?: string; preload?: string; output?: string }) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const result = await ctx.withProgress((onEvent, signal) =>
        buildNodeImage(
          {
            from: flags.from,
            ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
            ...(flags.preload !== undefined ? { preload: flags.preload } : {}),
          },
          { onEvent, signal },
        ),
      );
      if (format) {
        ctx.out(await formatData(format, result));
        return;
      }
      ctx.out(`${result.tag}\n`);
      ctx.err(
        `Node image ${result.tag} built from ${result.from}` +
          (result.preloaded.length > 0
            ? ` with ${result.preloaded.length} preloaded file(s): ${result.preloaded.join(", ")}`
            : ""),
      );
    });

  return nodeImage;
}
