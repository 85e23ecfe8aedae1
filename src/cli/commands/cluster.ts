import { Command } from "commander";
import { createCluster, planClusterCreate } from "../../core/operations/create.js";
import { describePlan } from "../../core/plan/describe.js";
import { specView } from "../../core/spec/view.js";
import { addSpecFlags, configFile, resolveFromCommandLine, type SpecFlags } from "../cluster-flags.js";
import { deleteCluster } from "../../core/operations/delete.js";
import { getCluster, listClusters } from "../../core/operations/list.js";
import type { ClusterStatus } from "../../core/operations/state.js";
import { DEFAULT_CLUSTER_NAME } from "../../core/spec/defaults.js";
import { UsageError } from "../../core/errors.js";
import { nameLines } from "./registry.js";
import { formatData, parseOutputFormat, table } from "../render.js";
import type { CliContext } from "../context.js";

interface CreateFlags extends SpecFlags {
  dryRun?: boolean;
  output?: string;
}

export function clusterCommand(ctx: CliContext): Command {
  const cluster = new Command("cluster").description("Create, list, inspect and delete clusters").alias("clusters");

  const create = cluster
    .command("create")
    .argument("[name]", `cluster name (default: the config file's, or ${DEFAULT_CLUSTER_NAME})`)
    .description("Create a k3s cluster in Docker and merge its kubeconfig");
  addSpecFlags(create)
    .option("--dry-run", "print the resolved spec and the ordered plan; create nothing")
    .option("-o, --output <format>", "print the result as json or yaml")
    .addHelpText(
      "after",
      `
Node filters: server:0, agent:1,2, agent:1-, server:*, loadbalancer, all; separate several with ';'.
Ports without a filter go through the load balancer to every server and agent.
Nodes and pods resolve host.k3box.internal to the Docker host.
Precedence: flags, then K3BOX_* variables, then the --config file, then defaults.

Examples:
  k3box cluster create
  k3box cluster create dev -s 1 -a 2 -p 8080:80@loadbalancer
  k3box cluster create ha --servers 3 --api-port 127.0.0.1:6550
  k3box cluster create ci --k3s-arg "--disable=traefik@server:*" --timeout 3m
  k3box cluster create --config k3box.yaml --agents 3
  k3box cluster create dev --manifest ./deploy/ --file ./ca.pem:/etc/ssl/certs/dev-ca.pem
  k3box cluster create --config k3d.yaml --dry-run
  k3box cluster create dev --host-alias 10.0.0.5:db.internal,db
  k3box cluster create offline --image k3box/node:v1.35.5-k3s1
  k3box cluster create dev --registry-create dev-registry:5050
  k3box cluster create dev --registry-use shared --registry-config ./registries.yaml`,
    )
    .action(async (name: string | undefined, flags: CreateFlags) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const { input, build } = await resolveFromCommandLine(create, name, flags);
      if (flags.dryRun) {
        const { spec, plan } = await planClusterCreate(input, { build, signal: ctx.signal });
        ctx.out(formatData(format ?? "yaml", { spec: specView(spec), plan: describePlan(plan) }));
        return;
      }
      const result = await ctx.withProgress((onEvent, signal) => createCluster(input, { onEvent, signal, build }));
      if (format) {
        ctx.out(
          formatData(format, {
            name: result.name,
            server: result.server,
            network: result.network,
            nodes: result.nodes,
            kubeconfigPath: result.kubeconfigPath ?? null,
            registries: result.registries,
          }),
        );
        return;
      }
      ctx.err(`Cluster "${result.name}" created: API at ${result.server}`);
      for (const r of result.registries) {
        ctx.err(`Registry "${r.name}":`);
        for (const line of nameLines({ names: r })) ctx.err(line);
      }
      if (result.kubeconfigPath !== undefined) {
        ctx.err(`Kubeconfig merged into ${result.kubeconfigPath}${result.spec.kubeconfig.switchContext ? `, current context k3box-${result.name}` : ""}`);
        ctx.err(`  kubectl --context k3box-${result.name} get nodes`);
      } else {
        ctx.err(`  k3box kubeconfig get ${result.name} > kubeconfig.yaml`);
      }
    });

  cluster
    .command("delete")
    .alias("rm")
    .argument("[names...]", "clusters to delete")
    .description("Delete clusters: containers, volumes, network and kubeconfig entries")
    .option("-a, --all", "delete every k3box cluster")
    .option("--ignore-missing", "a cluster that does not exist is not an error")
    .option("-c, --config <file>", "delete the cluster a config file describes")
    .addHelpText(
      "after",
      "\nExamples:\n  k3box cluster delete dev\n  k3box cluster delete --all\n  k3box cluster delete --config k3box.yaml",
    )
    .action(async (names: string[], flags: { all?: boolean; ignoreMissing?: boolean; config?: string }) => {
      let targets = names;
      if ([names.length > 0, flags.all, flags.config !== undefined].filter(Boolean).length > 1) {
        throw new UsageError("give cluster names, --all or --config, not several");
      }
      if (flags.all) {
        targets = (await listClusters()).map((c) => c.name);
      } else if (flags.config !== undefined) {
        const file = await configFile(flags.config, process.env);
        // A file with problems may have lost its name; deleting the default cluster instead would be wrong.
        if (file && file.problems.length > 0) throw new UsageError(file.problems.join("\n"));
        targets = [file?.input.name ?? DEFAULT_CLUSTER_NAME];
      } else if (targets.length === 0) {
        targets = [DEFAULT_CLUSTER_NAME];
      }
      for (const name of targets) {
        const r = await ctx.withProgress((onEvent, signal) =>
          deleteCluster(name, { onEvent, signal, ignoreMissing: flags.ignoreMissing ?? false }),
        );
        ctx.err(r.deleted ? `Cluster "${name}" deleted` : `Cluster "${name}" does not exist`);
      }
    });

  cluster
    .command("list")
    .alias("ls")
    .description("List clusters")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .option("--no-headers", "omit the table header")
    .addHelpText("after", "\nExamples:\n  k3box cluster list\n  k3box cluster list -o json")
    .action(async (flags: { output: string; headers: boolean }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const clusters = await listClusters();
      ctx.out(format === "table" ? clusterTable(clusters, flags.headers) : formatData(format, clusters));
    });

  cluster
    .command("get")
    .argument("<name>", "cluster name")
    .description("Show one cluster")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExamples:\n  k3box cluster get dev -o yaml")
    .action(async (name: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const c = await getCluster(name);
      ctx.out(format === "table" ? clusterTable([c], true) : formatData(format, c));
    });

  return cluster;
}

function clusterTable(clusters: readonly ClusterStatus[], headers: boolean): string {
  const rows = clusters.map((c) => [
    c.name,
    `${c.servers.running}/${c.servers.total}`,
    `${c.agents.running}/${c.agents.total}`,
    c.loadBalancer ? "true" : "false",
    c.server,
    c.state,
    c.image,
  ]);
  const text = table(["NAME", "SERVERS", "AGENTS", "LOADBALANCER", "API", "STATE", "IMAGE"], rows);
  return headers ? text : text.split("\n").slice(1).join("\n");
}
