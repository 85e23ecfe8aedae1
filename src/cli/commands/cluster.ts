import { Command, Option } from "commander";
import { createCluster } from "../../core/operations/create.js";
import { deleteCluster } from "../../core/operations/delete.js";
import { editClusterPorts } from "../../core/operations/edit.js";
import { DEFAULT_STOP_TIMEOUT_SECONDS, restartCluster, startCluster, stopCluster } from "../../core/operations/lifecycle.js";
import { getCluster, listClusters } from "../../core/operations/list.js";
import type { ClusterStatus } from "../../core/operations/state.js";
import { DEFAULT_CLUSTER_NAME, DEFAULT_K3S_IMAGE } from "../../core/spec/defaults.js";
import { UsageError } from "../../core/errors.js";
import { bool, collect, count } from "../options.js";
import { formatData, parseOutputFormat, table } from "../render.js";
import type { CliContext } from "../context.js";

interface CreateFlags {
  servers: number;
  agents: number;
  image: string;
  apiPort?: string;
  port: string[];
  k3sArg: string[];
  env: string[];
  volume: string[];
  token?: string;
  network?: string;
  lb: boolean;
  wait: boolean;
  timeout?: string;
  kubeconfigUpdateDefault: boolean;
  kubeconfigSwitchContext: boolean;
  rollback: boolean;
  output?: string;
}

export function clusterCommand(ctx: CliContext): Command {
  const cluster = new Command("cluster").description("Create, list, inspect, start, stop, edit and delete clusters").alias("clusters");

  cluster
    .command("create")
    .argument("[name]", "cluster name", DEFAULT_CLUSTER_NAME)
    .description("Create a k3s cluster in Docker and merge its kubeconfig")
    .option("-s, --servers <count>", "number of servers", count("server count"), 1)
    .option("-a, --agents <count>", "number of agents", count("agent count"), 0)
    .option("-i, --image <image>", "k3s image for the nodes", DEFAULT_K3S_IMAGE)
    .option("--api-port <[host:]port>", "where the API is published on the host (default 127.0.0.1 and a free port)")
    .option("-p, --port <spec>", "publish a port: [HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER] (repeatable)", collect, [])
    .option("--k3s-arg <arg@filter>", "extra k3s argument for the selected nodes (repeatable)", collect, [])
    .option("-e, --env <KEY=VALUE@filter>", "environment variable for the selected nodes (repeatable)", collect, [])
    .option("-v, --volume <src:dest@filter>", "mount a host path or volume into the selected nodes (repeatable)", collect, [])
    .option("--token <token>", "cluster join token (default: random, 160 bits)")
    .option("--network <name>", "use this Docker network (an existing one is kept when the cluster is deleted)")
    .option("--no-lb", "no load balancer: the API is published on the first server")
    .addOption(new Option("--wait [bool]", "wait until the cluster is ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .option("--timeout <duration>", "deadline for the whole create, rollback aside (e.g. 90s, 5m)")
    .addOption(
      new Option("--kubeconfig-update-default [bool]", "merge the kubeconfig into the default file").argParser(bool).default(true),
    )
    .addOption(
      new Option("--kubeconfig-switch-context [bool]", "make the new cluster the current context").argParser(bool).default(true),
    )
    .option("--no-rollback", "keep what was created when the create fails, for debugging")
    .option("-o, --output <format>", "print the result as json or yaml")
    .addHelpText(
      "after",
      `
Node filters: server:0, agent:1,2, agent:1-, server:*, loadbalancer, all; separate several with ';'.
Ports without a filter go through the load balancer to every server and agent.

Examples:
  k3box cluster create
  k3box cluster create dev -s 1 -a 2 -p 8080:80@loadbalancer
  k3box cluster create ha --servers 3 --api-port 127.0.0.1:6550
  k3box cluster create ci --k3s-arg "--disable=traefik@server:*" --timeout 3m`,
    )
    .action(async (name: string, flags: CreateFlags) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const result = await ctx.withProgress((onEvent, signal) =>
        createCluster(
          {
            name,
            servers: flags.servers,
            agents: flags.agents,
            image: flags.image,
            ...(flags.apiPort !== undefined ? { apiPort: flags.apiPort } : {}),
            ports: flags.port,
            k3sArgs: flags.k3sArg,
            env: flags.env,
            volumes: flags.volume,
            ...(flags.token !== undefined ? { token: flags.token } : {}),
            ...(flags.network !== undefined ? { network: flags.network } : {}),
            loadBalancer: flags.lb,
            wait: flags.wait,
            ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
            updateDefaultKubeconfig: flags.kubeconfigUpdateDefault,
            switchContext: flags.kubeconfigSwitchContext,
            rollback: flags.rollback,
          },
          { onEvent, signal },
        ),
      );
      if (format) {
        ctx.out(
          formatData(format, {
            name: result.name,
            server: result.server,
            network: result.network,
            nodes: result.nodes,
            kubeconfigPath: result.kubeconfigPath ?? null,
          }),
        );
        return;
      }
      ctx.err(`Cluster "${result.name}" created: API at ${result.server}`);
      if (result.kubeconfigPath !== undefined) {
        ctx.err(`Kubeconfig merged into ${result.kubeconfigPath}${result.spec.kubeconfig.switchContext ? `, current context k3box-${result.name}` : ""}`);
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
    .addHelpText("after", "\nExamples:\n  k3box cluster delete dev\n  k3box cluster delete --all")
    .action(async (names: string[], flags: { all?: boolean; ignoreMissing?: boolean }) => {
      for (const name of await lifecycleTargets(names, flags.all)) {
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

  cluster
    .command("start")
    .argument("[names...]", "clusters to start")
    .description("Start stopped clusters: servers in turn, agents in parallel, then the load balancer")
    .option("-a, --all", "start every k3box cluster")
    .addOption(new Option("--wait [bool]", "wait until the cluster is ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .option("--timeout <duration>", "deadline for each cluster's start (e.g. 90s, 5m)")
    .addHelpText("after", "\nExamples:\n  k3box cluster start dev\n  k3box cluster start --all --timeout 3m")
    .action(async (names: string[], flags: { all?: boolean; wait: boolean; timeout?: string }) => {
      for (const name of await lifecycleTargets(names, flags.all)) {
        const r = await ctx.withProgress((onEvent, signal) =>
          startCluster(name, { onEvent, signal, wait: flags.wait, ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}) }),
        );
        ctx.err(r.changed ? `Cluster "${name}" started` : `Cluster "${name}" is already running: nothing to do`);
      }
    });

  cluster
    .command("stop")
    .argument("[names...]", "clusters to stop")
    .description("Stop clusters: load balancer and agents first, the init server last")
    .option("-a, --all", "stop every k3box cluster")
    .option("--stop-timeout <seconds>", "seconds each node gets to shut down before it is killed", count("stop timeout"), DEFAULT_STOP_TIMEOUT_SECONDS)
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
    .option("--timeout <duration>", "deadline for each cluster's start (e.g. 90s, 5m)")
    .option("--stop-timeout <seconds>", "seconds each node gets to shut down before it is killed", count("stop timeout"), DEFAULT_STOP_TIMEOUT_SECONDS)
    .addHelpText("after", "\nExamples:\n  k3box cluster restart dev")
    .action(async (names: string[], flags: { all?: boolean; wait: boolean; timeout?: string; stopTimeout: number }) => {
      for (const name of await lifecycleTargets(names, flags.all)) {
        await ctx.withProgress((onEvent, signal) =>
          restartCluster(name, {
            onEvent,
            signal,
            wait: flags.wait,
            stopTimeoutSeconds: flags.stopTimeout,
            ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
          }),
        );
        ctx.err(`Cluster "${name}" restarted`);
      }
    });

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
        ctx.out(formatData(format, r.ports));
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
