import { Command, Option } from "commander";
import {
  createCluster,
  planClusterCreate,
  describePlan,
  specView,
  deleteCluster,
  editClusterPorts,
  DEFAULT_STOP_TIMEOUT_SECONDS,
  restartCluster,
  startCluster,
  stopCluster,
  getCluster,
  listClusters,
  type ClusterStatus,
  DEFAULT_CLUSTER_NAME,
  UsageError,
  type ReadyLevel,
} from "../../index.js";
import { addSpecFlags, configFile, resolveFromCommandLine, type SpecFlags } from "../cluster-flags.js";
import { bool, collect, count, waitForOption } from "../options.js";
import { nameLines } from "../registry-names.js";
import { formatData, parseOutputFormat, table } from "../render.js";
import type { CliContext } from "../context.js";

interface CreateFlags extends SpecFlags {
  dryRun?: boolean;
  output?: string;
}

export function clusterCommand(ctx: CliContext): Command {
  const cluster = new Command("cluster")
    .description("Create, list, inspect, start, stop, edit and delete clusters")
    .alias("clusters");

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
        ctx.out(await formatData(format ?? "yaml", { spec: specView(spec), plan: describePlan(plan) }));
        return;
      }
      const result = await ctx.withProgress((onEvent, signal) => createCluster(input, { onEvent, signal, build }));
      if (format) {
        ctx.out(
          await formatData(format, {
            name: result.name,
            server: result.server,
            network: result.network,
            nodes: result.nodes,
            kubeconfigPath: result.kubeconfigPath ?? null,
            registries: result.registries,
            ports: result.ports,
          }),
        );
        return;
      }
      ctx.err(`Cluster "${result.name}" created: API at ${result.server}`);
      for (const p of result.ports) ctx.err(`  port ${p.hostIp}:${p.hostPort} -> ${p.containerPort}/${p.protocol} on ${p.node}`);
      for (const r of result.registries) {
        ctx.err(`Registry "${r.name}":`);
        for (const line of nameLines({ names: r })) ctx.err(line);
      }
      if (result.kubeconfigPath !== undefined) {
        ctx.err(
          `Kubeconfig merged into ${result.kubeconfigPath}${result.spec.kubeconfig.switchContext ? `, current context k3box-${result.name}` : ""}`,
        );
        ctx.err(`  kubectl --context k3box-${result.name} get nodes`);
      } else {
        ctx.err(`  k3box kubeconfig get ${result.name} > kubeconfig.yaml`);
      }
    });

  const lifecycleTargets = async (names: string[], all: boolean | undefined): Promise<string[]> => {
    if (all) {
      if (names.length > 0) throw new UsageError("give cluster names or --all, not both");
      return (await listClusters()).map((c) => c.name);
    }
    return names.length > 0 ? names : [DEFAULT_CLUSTER_NAME];
  };

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
      let targets: string[];
      if (flags.config !== undefined) {
        if (names.length > 0 || flags.all) throw new UsageError("give cluster names, --all or --config, not several");
        const file = await configFile(flags.config, process.env);
        // A file with problems may have lost its name; deleting the default cluster instead would be wrong.
        if (file && file.problems.length > 0) throw new UsageError(file.problems.join("\n"));
        targets = [file?.input.name ?? DEFAULT_CLUSTER_NAME];
      } else {
        targets = await lifecycleTargets(names, flags.all);
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
      ctx.out(format === "table" ? clusterTable(clusters, flags.headers) : await formatData(format, clusters));
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
      if (format !== "table") {
        ctx.out(await formatData(format, c));
        return;
      }
      ctx.out(clusterTable([c], true));
      ctx.out(`adaptations: ${c.adaptations.length > 0 ? c.adaptations.join(", ") : "none"}\n`);
    });

  cluster
    .command("start")
    .argument("[names...]", "clusters to start")
    .description("Start stopped clusters: servers in turn, agents in parallel, then the load balancer")
    .option("-a, --all", "start every k3box cluster")
    .addOption(new Option("--wait [bool]", "wait until the cluster is ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .addOption(waitForOption())
    .option("--timeout <duration>", "deadline for each cluster's start (e.g. 90s, 5m)")
    .addHelpText("after", "\nExamples:\n  k3box cluster start dev\n  k3box cluster start --all --timeout 3m")
    .action(async (names: string[], flags: { all?: boolean; wait: boolean; waitFor?: ReadyLevel; timeout?: string }) => {
      for (const name of await lifecycleTargets(names, flags.all)) {
        const r = await ctx.withProgress((onEvent, signal) =>
          startCluster(name, {
            onEvent,
            signal,
            wait: flags.wait,
            ...(flags.waitFor !== undefined ? { waitFor: flags.waitFor } : {}),
            ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
          }),
        );
        ctx.err(r.changed ? `Cluster "${name}" started` : `Cluster "${name}" is already running: nothing to do`);
      }
    });

  cluster
    .command("stop")
    .argument("[names...]", "clusters to stop")
    .description("Stop clusters: load balancer and agents first, the init server last")
    .option("-a, --all", "stop every k3box cluster")
    .option(
      "--stop-timeout <seconds>",
      "seconds each node gets to shut down before it is killed",
      count("stop timeout"),
      DEFAULT_STOP_TIMEOUT_SECONDS,
    )
    .addHelpText("after", "\nExamples:\n  k3box cluster stop dev\n  k3box cluster stop --all")
    .action(async (names: string[], flags: { all?: boolean; stopTimeout: number }) => {
      for (const name of await lifecycleTargets(names, flags.all)) {
        const r = await ctx.withProgress((onEvent, signal) =>
          stopCluster(name, { onEvent, signal, stopTimeoutSeconds: flags.stopTimeout }),
        );
        ctx.err(r.changed ? `Cluster "${name}" stopped` : `Cluster "${name}" is already stopped: nothing to do`);
      }
    });

  cluster
    .command("restart")
    .argument("[names...]", "clusters to restart")
    .description("Stop, then start clusters (same order and readiness as start)")
    .option("-a, --all", "restart every k3box cluster")
    .addOption(new Option("--wait [bool]", "wait until the cluster is ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .addOption(waitForOption())
    .option("--timeout <duration>", "deadline for each cluster's start (e.g. 90s, 5m)")
    .option(
      "--stop-timeout <seconds>",
      "seconds each node gets to shut down before it is killed",
      count("stop timeout"),
      DEFAULT_STOP_TIMEOUT_SECONDS,
    )
    .addHelpText("after", "\nExamples:\n  k3box cluster restart dev")
    .action(
      async (
        names: string[],
        flags: { all?: boolean; wait: boolean; waitFor?: ReadyLevel; timeout?: string; stopTimeout: number },
      ) => {
        for (const name of await lifecycleTargets(names, flags.all)) {
          await ctx.withProgress((onEvent, signal) =>
            restartCluster(name, {
              onEvent,
              signal,
              wait: flags.wait,
              ...(flags.waitFor !== undefined ? { waitFor: flags.waitFor } : {}),
              stopTimeoutSeconds: flags.stopTimeout,
              ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
            }),
          );
          ctx.err(`Cluster "${name}" restarted`);
        }
      },
    );

  cluster
    .command("edit")
    .argument("<name>", "cluster name")
    .description("Add or remove load-balanced ports of a cluster (replaces its load balancer)")
    .option("--port-add <spec>", "publish a port through the load balancer, as create's --port (repeatable)", collect, [])
    .option("--port-delete <spec>", "remove a mapping, named by its spec or its host port (repeatable)", collect, [])
    .option("--timeout <duration>", "deadline (default 2m)")
    .option("-o, --output <format>", "print the resulting ports as json or yaml")
    .addHelpText(
      "after",
      `
The load balancer is replaced: a new one is created, takes over the name and ports, and must
serve the API before the old one is removed; on any failure the old one is put back.
Ports published on a node directly (:direct) cannot be added after create.

Examples:
  k3box cluster edit dev --port-add 8080:80@loadbalancer
  k3box cluster edit dev --port-delete 8080 --port-add 9090:80`,
    )
    .action(async (name: string, flags: { portAdd: string[]; portDelete: string[]; timeout?: string; output?: string }) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const r = await ctx.withProgress((onEvent, signal) =>
        editClusterPorts(
          name,
          { add: flags.portAdd, delete: flags.portDelete, ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}) },
          { onEvent, signal },
        ),
      );
      if (format) {
        ctx.out(await formatData(format, r.ports));
        return;
      }
      ctx.err(`Cluster "${name}" ports updated`);
      for (const p of r.ports) ctx.err(`  ${p.hostIp}:${p.hostPort} <- ${p.spec}`);
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
