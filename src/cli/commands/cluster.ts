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
  inspectClusters,
  listClusters,
  DEFAULT_CLUSTER_NAME,
  UsageError,
  type ClusterStatus,
  type DatastoreStatus,
  type ReadyLevel,
} from "../../index.js";
import { addSpecFlags, configFile, resolveFromCommandLine, type SpecFlags } from "../cluster-flags.js";
import { renderTable, type ClusterRow } from "../mode.js";
import { bool, collect, count, waitForOption } from "../options.js";
import { nameLines } from "../registry-names.js";
import { formatData, parseOutputFormat } from "../render.js";
import type { CliContext } from "../context.js";

interface CreateFlags extends SpecFlags {
  dryRun?: boolean;
  output?: string;
}

export function clusterCommand(ctx: CliContext): Command {
  const { dialect, mode } = ctx;
  const prog = mode.program;
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
Nodes and pods resolve ${dialect.hostName} to the Docker host.
Precedence: flags, then K3BOX_* variables, then the --config file, then defaults.

Examples:
  ${prog} cluster create
  ${prog} cluster create dev -s 1 -a 2 -p 8080:80@loadbalancer
  ${prog} cluster create ha --servers 3 --api-port 127.0.0.1:6550
  ${prog} cluster create ci --k3s-arg "--disable=traefik@server:*" --timeout 3m
  ${prog} cluster create --config k3box.yaml --agents 3
  ${prog} cluster create dev --manifest ./deploy/ --file ./ca.pem:/etc/ssl/certs/dev-ca.pem
  ${prog} cluster create --config k3d.yaml --dry-run
  ${prog} cluster create dev --host-alias 10.0.0.5:db.internal,db
  ${prog} cluster create offline --image k3box/node:v1.35.5-k3s1
  ${prog} cluster create dev --registry-create dev-registry:5050
  ${prog} cluster create dev --registry-use shared --registry-config ./registries.yaml
  ${prog} cluster create dev --agents-memory 1g --runtime-ulimit nofile=65536:65536`,
    )
    .action(async (name: string | undefined, flags: CreateFlags) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const { input, build } = await resolveFromCommandLine(create, name, flags);
      if (flags.dryRun) {
        const { spec, plan } = await planClusterCreate(input, { build, signal: ctx.signal, dialect });
        ctx.out(await formatData(format ?? "yaml", { spec: specView(spec), plan: describePlan(plan) }));
        return;
      }
      // `--api-port 6550` names no host either: the port is bound to the mode's default address.
      const namesHost = input.apiPort !== undefined && /^(\[[^\]]+\]|[^:]+):/.test(input.apiPort);
      if (!namesHost && mode.apiBindNote !== undefined) ctx.err(mode.apiBindNote);
      const result = await ctx.withProgress((onEvent, signal) => createCluster(input, { onEvent, signal, build, dialect }));
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
            datastore: result.datastore,
          }),
        );
        return;
      }
      ctx.err(`Cluster "${result.name}" created: API at ${result.server}`);
      const ds = result.datastore;
      if (ds.container !== undefined) ctx.err(`  datastore ${ds.type}: ${ds.container}, ${ds.endpoint ?? ""}`);
      else if (ds.endpoint !== undefined) ctx.err(`  datastore ${ds.type}: ${ds.endpoint}`);
      for (const p of result.ports) ctx.err(`  port ${p.hostIp}:${p.hostPort} -> ${p.containerPort}/${p.protocol} on ${p.node}`);
      for (const r of result.registries) {
        ctx.err(`Registry "${r.name}":`);
        for (const line of nameLines({ names: r })) ctx.err(line);
      }
      if (result.kubeconfigPath !== undefined) {
        ctx.err(
          `Kubeconfig merged into ${result.kubeconfigPath}${result.spec.kubeconfig.switchContext ? `, current context ${result.context}` : ""}`,
        );
        ctx.err(`  kubectl --context ${result.context} get nodes`);
      } else {
        ctx.err(`  ${prog} kubeconfig get ${result.name} > kubeconfig.yaml`);
      }
    });

  const lifecycleTargets = async (names: string[], all: boolean | undefined): Promise<string[]> => {
    if (all) {
      if (names.length > 0) throw new UsageError("give cluster names or --all, not both");
      return (await listClusters({ signal: ctx.signal, dialect })).map((c) => c.name);
    }
    return names.length > 0 ? names : [DEFAULT_CLUSTER_NAME];
  };

  cluster
    .command("delete")
    .aliases(["rm", "del"])
    .argument("[names...]", "clusters to delete")
    .description("Delete clusters: containers, volumes, network and kubeconfig entries")
    .option("-a, --all", `delete every ${prog} cluster`)
    .option("--ignore-missing", "a cluster that does not exist is not an error")
    .option(
      "--forget-unreachable",
      "delete what is on the engines that answer, leaving the nodes on other engines that do not (default: delete nothing then)",
    )
    .option("-c, --config <file>", "delete the cluster a config file describes")
    .addHelpText(
      "after",
      `\nExamples:\n  ${prog} cluster delete dev\n  ${prog} cluster delete --all\n  ${prog} cluster delete --config k3box.yaml`,
    )
    .action(
      async (
        names: string[],
        flags: { all?: boolean; ignoreMissing?: boolean; forgetUnreachable?: boolean; config?: string },
      ) => {
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
            deleteCluster(name, {
              onEvent,
              signal,
              dialect,
              ignoreMissing: flags.ignoreMissing ?? false,
              forgetUnreachable: flags.forgetUnreachable ?? false,
            }),
          );
          ctx.err(r.deleted ? `Cluster "${name}" deleted` : `Cluster "${name}" does not exist`);
        }
      },
    );

  cluster
    .command("list")
    .aliases(mode.listGetAlias ? ["ls", "get"] : ["ls"])
    .argument("[names...]", "only these clusters")
    .description("List clusters")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .option("--no-headers", "omit the table header")
    .option("--token", "show each cluster's join token")
    .addHelpText(
      "after",
      `\nExamples:\n  ${prog} cluster list\n  ${prog} cluster list dev -o json\n  ${prog} cluster list --token`,
    )
    .action(async (names: string[], flags: { output: string; headers: boolean; token?: boolean }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const token = flags.token ?? false;
      const options = { signal: ctx.signal, dialect };
      const statuses =
        names.length === 0 ? await listClusters(options) : await Promise.all(names.map((n) => getCluster(n, options)));
      for (const s of statuses) warnUnreachable(ctx, s);
      const details =
        mode.detailedClusters || token
          ? await inspectClusters(
              statuses.map((s) => s.name),
              { ...options, token },
            )
          : [];
      const rows: ClusterRow[] = statuses.map((status) => {
        const detail = details.find((d) => d.name === status.name);
        return detail ? { status, detail } : { status };
      });
      ctx.out(
        format === "table"
          ? renderTable(mode.clusterTable(rows, token), flags.headers)
          : await formatData(format, rows.map(mode.clusterData)),
      );
    });

  if (!mode.listGetAlias) {
    cluster
      .command("get")
      .argument("<name>", "cluster name")
      .description("Show one cluster")
      .option("-o, --output <format>", "table, json or yaml", "table")
      .addHelpText("after", `\nExamples:\n  ${prog} cluster get dev -o yaml`)
      .action(async (name: string, flags: { output: string }) => {
        const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
        const status = await getCluster(name, { signal: ctx.signal, dialect });
        warnUnreachable(ctx, status);
        if (format !== "table") {
          ctx.out(await formatData(format, status));
          return;
        }
        ctx.out(renderTable(mode.clusterTable([{ status }], false), true));
        ctx.out(`datastore: ${datastoreLine(status.datastore)}\n`);
        ctx.out(`adaptations: ${status.adaptations.length > 0 ? status.adaptations.join(", ") : "none"}\n`);
        const engines = [...new Set(status.nodes.flatMap((n) => (n.engine !== undefined ? [n.engine] : [])))];
        if (engines.length > 0) ctx.out(`other engines: ${engines.join(", ")}\n`);
      });
  }

  cluster
    .command("start")
    .argument("[names...]", "clusters to start")
    .description("Start stopped clusters: servers in turn, agents in parallel, then the load balancer")
    .option("-a, --all", `start every ${prog} cluster`)
    .addOption(new Option("--wait [bool]", "wait until the cluster is ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .addOption(waitForOption())
    .option("--timeout <duration>", "deadline for each cluster's start (e.g. 90s, 5m)")
    .addHelpText("after", `\nExamples:\n  ${prog} cluster start dev\n  ${prog} cluster start --all --timeout 3m`)
    .action(async (names: string[], flags: { all?: boolean; wait: boolean; waitFor?: ReadyLevel; timeout?: string }) => {
      for (const name of await lifecycleTargets(names, flags.all)) {
        const r = await ctx.withProgress((onEvent, signal) =>
          startCluster(name, {
            onEvent,
            signal,
            dialect,
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
    .option("-a, --all", `stop every ${prog} cluster`)
    .option(
      "--stop-timeout <seconds>",
      "seconds each node gets to shut down before it is killed",
      count("stop timeout"),
      DEFAULT_STOP_TIMEOUT_SECONDS,
    )
    .addHelpText("after", `\nExamples:\n  ${prog} cluster stop dev\n  ${prog} cluster stop --all`)
    .action(async (names: string[], flags: { all?: boolean; stopTimeout: number }) => {
      for (const name of await lifecycleTargets(names, flags.all)) {
        const r = await ctx.withProgress((onEvent, signal) =>
          stopCluster(name, { onEvent, signal, dialect, stopTimeoutSeconds: flags.stopTimeout }),
        );
        ctx.err(r.changed ? `Cluster "${name}" stopped` : `Cluster "${name}" is already stopped: nothing to do`);
      }
    });

  cluster
    .command("restart")
    .argument("[names...]", "clusters to restart")
    .description("Stop, then start clusters (same order and readiness as start)")
    .option("-a, --all", `restart every ${prog} cluster`)
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
    .addHelpText("after", `\nExamples:\n  ${prog} cluster restart dev`)
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
              dialect,
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
    .alias("update")
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
  ${prog} cluster edit dev --port-add 8080:80@loadbalancer
  ${prog} cluster edit dev --port-delete 8080 --port-add 9090:80`,
    )
    .action(async (name: string, flags: { portAdd: string[]; portDelete: string[]; timeout?: string; output?: string }) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const r = await ctx.withProgress((onEvent, signal) =>
        editClusterPorts(
          name,
          { add: flags.portAdd, delete: flags.portDelete, ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}) },
          { onEvent, signal, dialect },
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

/** `postgres, container k3box-dev-datastore (running, 127.0.0.1:5432), postgres://k3s@…` */
function datastoreLine(ds: DatastoreStatus): string {
  const where = ds.hostPort !== undefined ? `, ${ds.hostIp}:${ds.hostPort}` : "";
  return [
    ds.type,
    ...(ds.container !== undefined ? [`container ${ds.container} (${ds.state ?? "?"}${where})`] : []),
    ...(ds.endpoint !== undefined ? [ds.endpoint] : []),
  ].join(", ");
}

/** Nodes on an engine that could not be reached are missing from what is shown: say so. */
function warnUnreachable(ctx: CliContext, status: ClusterStatus): void {
  for (const u of status.unreachable ?? []) ctx.err(`warning: ${u.error}`);
}
