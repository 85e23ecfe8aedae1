import { Command } from "commander";
import {
  DEFAULT_CLUSTER_NAME,
  UsageError,
  clusterKubeconfigPath,
  defaultKubeconfigPath,
  getKubeconfig,
  listClusters,
  mergeClusterKubeconfig,
  serializeKubeconfig,
} from "../../index.js";
import { bool } from "../options.js";
import type { CliContext } from "../context.js";

interface MergeFlags {
  all?: boolean;
  output?: string;
  kubeconfigMergeDefault?: boolean;
  kubeconfigSwitchContext: boolean;
  update: boolean;
  overwrite?: boolean;
}

export function kubeconfigCommand(ctx: CliContext): Command {
  const { dialect, mode } = ctx;
  const prog = mode.program;
  const options = { signal: ctx.signal, dialect };
  /** The clusters named, or with --all every one; `fallback` when none is named. */
  const targets = async (names: string[], all: boolean | undefined, fallback: string[]): Promise<string[]> => {
    if (all) {
      if (names.length > 0) throw new UsageError("give cluster names or --all, not both");
      return (await listClusters(options)).map((c) => c.name);
    }
    return names.length > 0 ? names : fallback;
  };

  const kc = new Command("kubeconfig").description("Print or merge a cluster's kubeconfig");
  kc.command("get")
    .aliases(["print", "show"])
    .argument("[names...]", "cluster names")
    .option("-a, --all", "every cluster's kubeconfig")
    .description("Print the clusters' kubeconfigs (several as YAML documents separated by ---)")
    .addHelpText("after", `\nExamples:\n  ${prog} kubeconfig get dev > dev.yaml\n  ${prog} kubeconfig get --all`)
    .action(async (names: string[], flags: { all?: boolean }) => {
      const clusters = await targets(names, flags.all, []);
      if (clusters.length === 0 && !flags.all) throw new UsageError("give cluster names or --all");
      for (const [i, name] of clusters.entries()) {
        const yaml = await serializeKubeconfig(await getKubeconfig(name, options));
        ctx.out(`${mode.kubeconfigSeparatorFirst || i > 0 ? "---\n" : ""}${yaml}`);
      }
    });

  const defaultTarget =
    dialect.kubeconfigDir === undefined
      ? "$KUBECONFIG (or ~/.kube/config)"
      : `~/.config/${dialect.kubeconfigDir}/kubeconfig-CLUSTER.yaml`;
  kc.command("merge")
    .alias("write")
    .argument("[names...]", `cluster names (default ${DEFAULT_CLUSTER_NAME})`)
    .description(`Merge the clusters' kubeconfigs into ${defaultTarget}, or into a file; prints the path`)
    .option("-a, --all", "every cluster")
    .option(
      "-o, --output <file>",
      mode.mergeIntoOutput
        ? "merge into FILE (- prints instead)"
        : "write only the cluster's kubeconfig to FILE (- prints instead)",
    )
    .option("-d, --kubeconfig-merge-default", "merge into $KUBECONFIG (or ~/.kube/config)")
    .option("-s, --kubeconfig-switch-context [bool]", "switch the current context", bool, true)
    .option("-u, --update [bool]", "replace the cluster's entries if the file has them already (false: refuse)", bool, true)
    .option("--overwrite", "replace the file with the cluster's kubeconfig, whatever it held")
    .addHelpText(
      "after",
      `\nExamples:\n  ${prog} kubeconfig merge dev\n  ${prog} kubeconfig merge dev --output ./dev.yaml\n  export KUBECONFIG=$(${prog} kubeconfig write dev)`,
    )
    .action(async (names: string[], flags: MergeFlags) => {
      if (flags.output !== undefined && flags.kubeconfigMergeDefault) {
        throw new UsageError("give --output or --kubeconfig-merge-default, not both");
      }
      const clusters = await targets(names, flags.all, [DEFAULT_CLUSTER_NAME]);
      const paths: string[] = [];
      for (const name of clusters) {
        if (flags.output === "-") {
          ctx.out(await serializeKubeconfig(await getKubeconfig(name, options)));
          continue;
        }
        const file =
          flags.output ??
          (flags.kubeconfigMergeDefault || dialect.kubeconfigDir === undefined
            ? defaultKubeconfigPath()
            : clusterKubeconfigPath(dialect.kubeconfigDir, name));
        // Into the default file entries are always merged; into another, as the mode has it.
        const replace = flags.overwrite === true || (flags.output !== undefined && !mode.mergeIntoOutput);
        paths.push(
          await mergeClusterKubeconfig(name, {
            ...options,
            output: file,
            mergeOutput: !replace,
            switchContext: flags.kubeconfigSwitchContext,
            update: flags.update,
          }),
        );
      }
      if (flags.output !== "-") ctx.out(`${paths.join(":")}\n`);
    });
  return kc;
}
