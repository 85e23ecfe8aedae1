import { Command } from "commander";
import { getKubeconfig, mergeClusterKubeconfig, serializeKubeconfig } from "../../index.js";
import { bool } from "../options.js";
import type { CliContext } from "../context.js";

export function kubeconfigCommand(ctx: CliContext): Command {
  const kc = new Command("kubeconfig").description("Print or merge a cluster's kubeconfig");
  kc.command("get")
    .argument("<name>", "cluster name")
    .description("Print the cluster's kubeconfig")
    .addHelpText("after", "\nExamples:\n  k3box kubeconfig get dev > dev.yaml")
    .action(async (name: string) => {
      ctx.out(await serializeKubeconfig(await getKubeconfig(name, { signal: ctx.signal })));
    });
  kc.command("merge")
    .argument("<name>", "cluster name")
    .description("Merge the cluster's kubeconfig into $KUBECONFIG (or ~/.kube/config), or write it to a file")
    .option("--output <file>", "write only this cluster's kubeconfig to FILE")
    .option("-s, --kubeconfig-switch-context [bool]", "switch the current context", bool, true)
    .addHelpText("after", "\nExamples:\n  k3box kubeconfig merge dev\n  k3box kubeconfig merge dev --output ./dev.yaml")
    .action(async (name: string, flags: { output?: string; kubeconfigSwitchContext: boolean }) => {
      const path = await mergeClusterKubeconfig(name, {
        signal: ctx.signal,
        switchContext: flags.kubeconfigSwitchContext,
        ...(flags.output !== undefined ? { output: flags.output } : {}),
      });
      ctx.out(path + "\n");
    });
  return kc;
}
