import { Command, Option } from "commander";
import type { Readable } from "node:stream";
import {
  UsageError,
  ImportFailedError,
  type ImportResult,
  importImages,
  importImagesToRegistry,
  type ImageSource,
  DEFAULT_CLUSTER_NAME,
  clusterImportMode,
  listClusterImages,
  keepImageArchive,
} from "../../index.js";
import { addSpecFlags, resolveFromCommandLine, type SpecFlags } from "../cluster-flags.js";
import type { CliContext } from "../context.js";
import { collectingGarbage } from "../memory.js";
import { collect } from "../options.js";
import { formatData, parseOutputFormat, table } from "../render.js";

interface ImportFlags {
  cluster: string[];
  nodes?: string;
  output?: string;
  mode?: string;
  keepTarball?: boolean;
  keepTools?: boolean;
}

/** `eager` and k3d's import modes (and `tools`, which its help names) all stream into every node; `registry` pushes once. */
const MODES = ["eager", "auto", "direct", "tools-node", "tools", "registry"];

/** `stdin` is only asked for when a source is `-`. */
export function imageCommand(ctx: CliContext, stdin: () => Readable): Command {
  const { dialect, mode } = ctx;
  const prog = mode.program;
  const image = new Command("image").description("Move images into cluster nodes").alias("images");

  image
    .command("import")
    .alias("load")
    .argument(
      "<sources...>",
      "image names from the Docker engine, archive files (docker save; plain, gzip or zstd), or - for stdin",
    )
    .description("Stream images into every node's containerd at once, skipping nodes that already have them")
    .addOption(
      new Option("-c, --cluster <name>", "cluster to import into (repeatable)")
        .argParser(collect)
        .default([], DEFAULT_CLUSTER_NAME),
    )
    .option("--nodes <filter>", "only these nodes, e.g. agent:0 or server:*;agent:1 (default every server and agent)")
    .option("-o, --output <format>", "print the per-node result as json or yaml")
    .option(
      "-m, --mode <mode>",
      `${MODES.join(", ")}: registry pushes to the cluster's registry (made if it has none), for nodes to pull when a pod needs it; the others all stream into every node (default: the cluster's imageImportMode, else eager)`,
    )
    .option("-k, --keep-tarball", "also keep the images as a tarball in the cluster's image volume (/k3d/images)")
    .option("-t, --keep-tools", "accepted for k3d's scripts: k3box uses no tools node")
    .addHelpText(
      "after",
      `
Each source is read once: into several nodes sharing the cluster's image volume it is
written there once and every node imports that file; into one node it is streamed in.
A node already holding the same image (same image ID) is skipped.
An existing file wins over an image of the same name.

Examples:
  ${prog} image import myapp:dev -c dev
  ${prog} image import myapp:dev redis:7 -c dev --nodes agent:*
  ${prog} image import ./images.tar.gz -c dev
  docker save myapp:dev | ${prog} image import - -c dev
  ${prog} image import myapp:dev -c dev -o json
  ${prog} image import myapp:dev -c dev --keep-tarball
  ${prog} image import myapp:dev -c dev --mode registry`,
    )
    .action(async (args: string[], flags: ImportFlags) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      if (flags.mode !== undefined && !MODES.includes(flags.mode))
        throw new UsageError(`invalid import mode "${flags.mode}": use ${MODES.join(", ")}`);
      if (args.filter((a) => a === "-").length > 1) throw new UsageError('"-" given more than once: stdin can be read only once');
      if (flags.keepTarball && args.includes("-"))
        throw new UsageError("--keep-tarball cannot keep stdin: it is read once, for the import");
      const sources: ImageSource[] = args.map((a) => (a === "-" ? { stream: pipedStdin(stdin()), label: "stdin" } : a));
      const named = flags.cluster.length > 0 ? flags.cluster : [DEFAULT_CLUSTER_NAME];
      // Without --mode, each cluster's own default, recorded when it was created.
      const modes = await Promise.all(
        named.map(async (c) =>
          flags.mode === undefined
            ? await clusterImportMode(c, { signal: ctx.signal, dialect })
            : flags.mode === "registry"
              ? "registry"
              : "eager",
        ),
      );
      const through = named.filter((_, i) => modes[i] === "registry");
      const clusters = named.filter((_, i) => modes[i] === "eager");
      if (through.length > 0 && (flags.nodes !== undefined || flags.keepTarball)) {
        throw new UsageError(
          `--mode registry${flags.mode === undefined ? ` (the default of cluster "${through[0]}")` : ""} delivers to no node: --nodes and --keep-tarball do not apply; --mode eager streams into the nodes`,
        );
      }
      for (const cluster of through) {
        const pushed = await ctx.withProgress((render, signal) =>
          importImagesToRegistry(cluster, args, { onEvent: collectingGarbage(render), signal, dialect }),
        );
        if (format) ctx.out(await formatData(format, pushed));
        const sent = pushed.images.filter((i) => i.status === "pushed").length;
        ctx.err(
          sent === 0
            ? `Nothing to do: ${pushed.registry} already has the images`
            : `Pushed ${sent} image${sent === 1 ? "" : "s"} to ${pushed.registry}; the nodes of "${cluster}" pull ${sent === 1 ? "it" : "them"} from there when a pod needs ${sent === 1 ? "it" : "them"}`,
        );
      }
      if (clusters.length === 0) return;
      let result: ImportResult;
      try {
        result = await ctx.withProgress((render, signal) =>
          importImages(clusters, sources, {
            onEvent: collectingGarbage(render),
            signal,
            dialect,
            ...(flags.nodes !== undefined ? { nodes: flags.nodes } : {}),
          }),
        );
      } catch (err) {
        const partial = err instanceof ImportFailedError ? err.result : undefined;
        if (format && partial) ctx.out(await formatData(format, partial));
        throw err;
      }
      if (flags.keepTarball) {
        for (const cluster of clusters) {
          const path = await keepImageArchive(cluster, args, { signal: ctx.signal, dialect });
          ctx.err(`Kept the images of "${cluster}" in ${path}`);
        }
      }
      if (format) {
        ctx.out(await formatData(format, result));
        return;
      }
      const count = (s: string) => result.nodes.filter((n) => n.status === s).length;
      const imported = count("imported");
      const skipped = count("skipped");
      const nodes = (n: number) => `${n} node${n === 1 ? "" : "s"}`;
      ctx.err(
        imported === 0
          ? `Nothing to do: ${skipped === 1 ? "the node already has" : `all ${nodes(skipped)} already have`} the images`
          : `Imported into ${nodes(imported)}${skipped > 0 ? `; ${nodes(skipped)} already had the images` : ""}`,
      );
    });

  const list = image
    .command("list")
    .alias("ls")
    .argument("[name]", "cluster name (as cluster create takes it)")
    .description("List every image a cluster will run: its nodes, load balancer, registry, and k3s's add-ons")
    .option("--image-extra <image>", "an image of yours the nodes run too (repeatable)", collect, [])
    .option("-o, --output <format>", "table, json or yaml", "table");
  addSpecFlags(list)
    .addHelpText(
      "after",
      `
Takes the flags and config file of cluster create and creates nothing. PLACE says where an image
is needed: engine (k3box runs it as a container) or nodes (k3s runs it inside every node). The
add-on images are those of the nodes' k3s release, read from the image tag, minus what the
servers' --disable arguments switch off.

Examples:
  k3box image list -c k3box.yaml
  k3box image list --k3s-arg "--disable=traefik@server:*" -o json
  k3box images list -i rancher/k3s:v1.36.2-k3s1 --image-extra myapp:1.0`,
    )
    .action(async (name: string | undefined, flags: SpecFlags & { imageExtra: string[]; output: string }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const { input, build } = await resolveFromCommandLine(list, name, flags);
      const result = await listClusterImages(input, { build, extraImages: flags.imageExtra, signal: ctx.signal });
      if (format !== "table") {
        ctx.out(await formatData(format, result));
      } else {
        ctx.out(
          table(
            ["IMAGE", "PLACE", "FOR"],
            result.images.map((i) => [i.image, i.place, i.for]),
          ),
        );
        if (result.k3s.version !== undefined) {
          ctx.err(
            `k3s ${result.k3s.version} (from the ${result.k3s.from}); add-on images: ${result.k3s.list?.source ?? "none known"}`,
          );
        }
        for (const o of result.omitted) ctx.err(`left out: ${o.image} (${o.why})`);
      }
      for (const w of result.warnings) ctx.err(`warning: ${w}`);
    });

  return image;
}

function pipedStdin(input: Readable): Readable {
  if ((input as Readable & { isTTY?: boolean }).isTTY) {
    throw new UsageError(
      '"-" reads an image archive from stdin, which is a terminal here: pipe one in (docker save IMAGE | k3box image import - …)',
    );
  }
  return input;
}
