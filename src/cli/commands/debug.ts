import { Command } from "commander";
import { NotFoundError, editClusterPorts, inspectClusters } from "../../index.js";
import type { CliContext } from "../context.js";
import { formatData } from "../render.js";
import { collectList } from "../options.js";

export function debugCommand(ctx: CliContext): Command {
  const { dialect, mode } = ctx;
  const debug = new Command("debug").description("Look inside a cluster's machinery");
  const lb = debug.command("loadbalancer").alias("lb").description("The load balancer's configuration, in k3d's terms");
  lb.command("get-config")
    .argument("<cluster>", "cluster name")
    .description("Print which port goes to which nodes, and the nginx settings (k3d's values.yaml)")
    .addHelpText("after", `\nExamples:\n  ${mode.program} debug loadbalancer get-config dev`)
    .action(async (cluster: string) => {
      const [detail] = await inspectClusters([cluster], { signal: ctx.signal, dialect });
      if (!detail?.loadBalancer) throw new NotFoundError(`cluster "${cluster}" has no load balancer`);
      ctx.out(await formatData("yaml", detail.loadBalancer.config));
    });
  lb.command("set-config")
    .argument("<cluster>", "cluster name")
    .argument("<settings...>", "settings.workerConnections=N, settings.defaultProxyTimeout=SECONDS")
    .description("Change the load balancer's nginx settings (it is replaced, as by cluster edit)")
    .option("--timeout <duration>", "deadline (default 2m)")
    .addHelpText("after", `\nExamples:\n  ${mode.program} debug loadbalancer set-config dev settings.workerConnections=4096`)
    .action(async (cluster: string, settings: string[], flags: { timeout?: string }) => {
      const overrides = settings.flatMap((s) => collectList(s));
      const r = await ctx.withProgress((onEvent, signal) =>
        editClusterPorts(
          cluster,
          { settings: overrides, ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}) },
          { onEvent, signal, dialect },
        ),
      );
      ctx.out(await formatData("yaml", { settings: r.settings }));
    });
  return debug;
}
