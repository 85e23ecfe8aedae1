import { Command, Option } from "commander";
import {
  DEFAULT_STOP_TIMEOUT_SECONDS,
  NotFoundError,
  UsageError,
  createNodes,
  deleteCluster,
  deleteNodes,
  deleteRegistries,
  editClusterPorts,
  getNode,
  inspectClusters,
  listClusters,
  listNodes,
  listRegistries,
  startNodes,
  stopNodes,
  type NodeRole,
  type ReadyLevel,
} from "../../index.js";
import { renderTable, type NodeRow } from "../mode.js";
import { bool, collect, collectList, count, waitForOption } from "../options.js";
import { formatData, parseOutputFormat } from "../render.js";
import type { CliContext } from "../context.js";

interface CreateFlags {
  cluster: string;
  role: string;
  replicas: number;
  image?: string;
  k3sArg: string[];
  k3sNodeLabel: string[];
  env: string[];
  volume: string[];
  memory?: string;
  runtimeLabel: string[];
  runtimeUlimit: string[];
  token?: string;
  network: string[];
  onEngine?: string;
  wait: boolean;
  waitFor?: ReadyLevel;
  timeout?: string;
}

export function nodeCommand(ctx: CliContext): Command {
  const { dialect, mode } = ctx;
  const prog = mode.program;
  const node = new Command("node").description("Add, remove, start, stop and list the nodes of clusters").alias("nodes");
  const clusterOption = new Option("-c, --cluster <name|url>", "a cluster's name, or https://HOST:PORT of another cluster")
    .default(mode.nodeCreateCluster)
    .makeOptionMandatory(mode.nodeCreateCluster === undefined);

  node
    .command("create")
    .argument(
      "[name]",
      `names the new nodes ${dialect.prefix}-NAME-0, -1… (without it: by role and index); joining by URL, ${dialect.prefix}-NAME-ROLE-N`,
    )
    .description("Add servers or agents to a cluster, or join a cluster k3box did not create by its URL and token")
    .addOption(clusterOption)
    .option("--role <role>", "server or agent", "agent")
    .option("--replicas <count>", "how many nodes", count("replica count"), 1)
    .option("-i, --image <image>", "k3s image (default: the image of the cluster's nodes)")
    .option("--k3s-arg <arg>", "extra k3s argument for the new nodes (repeatable)", collect, [])
    .option("--k3s-node-label <KEY=VALUE>", "Kubernetes label of the new nodes (repeatable)", collectList, [])
    .option("-e, --env <KEY=VALUE>", "environment variable for the new nodes (repeatable)", collect, [])
    .option("-v, --volume <src:dest>", "mount a host path or volume into the new nodes (repeatable)", collect, [])
    .option("--memory <size>", "memory limit of the new nodes (e.g. 1g); they see it as their memory")
    .option("--runtime-label <KEY=VALUE>", "label of the new node containers (repeatable)", collectList, [])
    .option("--runtime-ulimit <NAME=SOFT:HARD>", "ulimit of the new nodes (repeatable)", collectList, [])
    .option("-t, --token <token>", "joining by URL: the cluster's token")
    .option("-n, --network <name>", "joining by URL: the Docker network for the new nodes (default bridge)", collectList, [])
    .option(
      "--on-engine <engine>",
      "put the new agents on another Docker engine (unix://, tcp://, ssh://[USER@]HOST or a context) than the cluster's",
    )
    .addOption(new Option("--wait [bool]", "wait until the new nodes are ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .addOption(waitForOption())
    .option("--timeout <duration>", "deadline for the whole operation (e.g. 90s, 5m)")
    .addHelpText(
      "after",
      `
New nodes copy the settings of a node of the same role (image, arguments, env, volumes,
files, memory limit); servers join one at a time, agents in parallel; the load balancer is updated in place.

Examples:
  ${prog} node create --cluster dev --role agent --replicas 2
  ${prog} node create extra --cluster dev --memory 1g     # ${dialect.prefix}-extra-0
  ${prog} node create --cluster ha --role server
  ${prog} node create --cluster dev --on-engine ssh://me@box2   # an agent on another host
  ${prog} node create extra --cluster https://10.0.0.5:6443 --token K10...::server:abc`,
    )
    .action(async (name: string | undefined, flags: CreateFlags) => {
      if (flags.network.length > 1) throw new UsageError("--network: a node joins one network");
      const r = await ctx.withProgress((onEvent, signal) =>
        createNodes(
          {
            cluster: flags.cluster,
            role: flags.role as NodeRole,
            replicas: flags.replicas,
            ...(flags.image !== undefined ? { image: flags.image } : {}),
            k3sArgs: flags.k3sArg,
            nodeLabels: flags.k3sNodeLabel,
            env: flags.env,
            volumes: flags.volume,
            ...(flags.memory !== undefined ? { memory: flags.memory } : {}),
            runtimeLabels: flags.runtimeLabel,
            runtimeUlimits: flags.runtimeUlimit,
            ...(flags.token !== undefined ? { token: flags.token } : {}),
            ...(flags.network[0] !== undefined ? { network: flags.network[0] } : {}),
            ...(flags.onEngine !== undefined ? { engine: flags.onEngine } : {}),
            ...(name !== undefined ? { name } : {}),
            wait: flags.wait,
            ...(flags.waitFor !== undefined ? { waitFor: flags.waitFor } : {}),
            ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
          },
          { onEvent, signal, dialect },
        ),
      );
      for (const n of r.nodes) ctx.err(`Node "${n}" created in "${r.cluster}"`);
    });

  node
    .command("delete")
    .aliases(["rm", "del"])
    .argument("[names...]", "node (container) names")
    .description("Delete nodes: out of the load balancer, the Node object, the container and its data volume")
    .option("-a, --all", "delete every node: every cluster, whole (network, volumes and kubeconfig entries too)")
    .option("-r, --registries", "with --all: also delete every registry")
    .addHelpText(
      "after",
      `\nExamples:\n  ${prog} node delete ${dialect.prefix}-dev-agent-1\n  ${prog} node delete --all --registries`,
    )
    .action(async (names: string[], flags: { all?: boolean; registries?: boolean }) => {
      if (!flags.all) {
        if (names.length === 0) throw new UsageError("give node names or --all");
        const deleted = await ctx.withProgress((onEvent, signal) => deleteNodes(names, { onEvent, signal, dialect }));
        for (const n of deleted) ctx.err(`Node "${n}" deleted`);
        return;
      }
      if (names.length > 0) throw new UsageError("give node names or --all, not both");
      // Every node of a cluster gone leaves nothing of it worth keeping.
      for (const c of await listClusters({ signal: ctx.signal, dialect })) {
        await ctx.withProgress((onEvent, signal) => deleteCluster(c.name, { onEvent, signal, dialect }));
        ctx.err(`Cluster "${c.name}" deleted with all its nodes`);
      }
      if (!flags.registries) {
        ctx.err("Registries are kept: add --registries to delete them too");
        return;
      }
      const registries = (await listRegistries({ signal: ctx.signal, dialect })).map((r) => r.name);
      if (registries.length === 0) return;
      const deleted = await ctx.withProgress((onEvent, signal) =>
        deleteRegistries(registries, { onEvent, signal, dialect, force: true }),
      );
      for (const r of deleted) ctx.err(`Registry "${r}" deleted`);
    });

  node
    .command("start")
    .argument("<names...>", "node (container) names")
    .description("Start stopped nodes and put them back into the load balancer")
    .addOption(new Option("--wait [bool]", "wait until the nodes are ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .option("--timeout <duration>", "deadline (e.g. 90s, 5m)")
    .addHelpText("after", `\nExamples:\n  ${prog} node start ${dialect.prefix}-dev-agent-0`)
    .action(async (names: string[], flags: { wait: boolean; timeout?: string }) => {
      const started = await ctx.withProgress((onEvent, signal) =>
        startNodes(names, {
          onEvent,
          signal,
          dialect,
          wait: flags.wait,
          ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
        }),
      );
      for (const n of started) ctx.err(`Node "${n}" started`);
    });

  node
    .command("stop")
    .argument("<names...>", "node (container) names")
    .description("Take nodes out of the load balancer and stop them")
    .option(
      "--stop-timeout <seconds>",
      "seconds each node gets to shut down",
      count("stop timeout"),
      DEFAULT_STOP_TIMEOUT_SECONDS,
    )
    .addHelpText("after", `\nExamples:\n  ${prog} node stop ${dialect.prefix}-dev-agent-0`)
    .action(async (names: string[], flags: { stopTimeout: number }) => {
      const stopped = await ctx.withProgress((onEvent, signal) =>
        stopNodes(names, { onEvent, signal, dialect, stopTimeoutSeconds: flags.stopTimeout }),
      );
      for (const n of stopped) ctx.err(`Node "${n}" stopped`);
    });

  node
    .command("edit")
    .alias("update")
    .argument("<node>", "the load balancer's container name (PREFIX-CLUSTER-serverlb)")
    .description("Add or remove ports of a cluster's load balancer (as cluster edit)")
    .option("--port-add <spec>", "publish a port through the load balancer, as create's --port (repeatable)", collect, [])
    .option("--port-delete <spec>", "remove a mapping, named by its spec or its host port (repeatable)", collect, [])
    .option("--timeout <duration>", "deadline (default 2m)")
    .addHelpText("after", `\nExamples:\n  ${prog} node edit ${dialect.prefix}-dev-serverlb --port-add 8080:80`)
    .action(async (name: string, flags: { portAdd: string[]; portDelete: string[]; timeout?: string }) => {
      const n = await getNode(name, { signal: ctx.signal, dialect });
      if (n.role !== "loadbalancer") {
        throw new UsageError(`"${name}" is a ${n.role}: only the load balancer's ports can be changed after create`);
      }
      const r = await ctx.withProgress((onEvent, signal) =>
        editClusterPorts(
          n.cluster,
          {
            add: flags.portAdd,
            delete: flags.portDelete,
            ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
          },
          { onEvent, signal, dialect },
        ),
      );
      ctx.err(`Successfully updated ${name}`);
      for (const p of r.ports) ctx.err(`  ${p.hostIp}:${p.hostPort} <- ${p.spec}`);
    });

  node
    .command("list")
    .aliases(mode.listGetAlias ? ["ls", "get"] : ["ls"])
    .argument("[names...]", "only these nodes")
    .description("List nodes")
    .option("-c, --cluster <name>", "only this cluster's nodes")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .option("--no-headers", "omit the table header")
    .addHelpText("after", `\nExamples:\n  ${prog} node list\n  ${prog} node list --cluster dev -o json`)
    .action(async (names: string[], flags: { cluster?: string; output: string; headers: boolean }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const options = { signal: ctx.signal, dialect };
      const all = await listNodes({ ...options, ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}) });
      const picked = names.length === 0 ? all : names.map((n) => all.find((i) => i.name === n) ?? missing(prog, n));
      const nodes = mode.nodesByName ? [...picked].sort((a, b) => a.name.localeCompare(b.name)) : picked;
      const details = mode.detailedClusters
        ? (await inspectClusters([...new Set(nodes.map((n) => n.cluster))], options)).flatMap((c) => c.nodes)
        : [];
      const rows: NodeRow[] = nodes.map((info) => {
        const detail = details.find((d) => d.name === info.name);
        return detail ? { info, detail } : { info };
      });
      ctx.out(
        format === "table" ? renderTable(mode.nodeTable(rows), flags.headers) : await formatData(format, rows.map(mode.nodeData)),
      );
    });

  if (!mode.listGetAlias) {
    node
      .command("get")
      .argument("<name>", "node (container) name")
      .description("Show one node")
      .option("-o, --output <format>", "table, json or yaml", "table")
      .addHelpText("after", `\nExamples:\n  ${prog} node get ${dialect.prefix}-dev-server-0 -o yaml`)
      .action(async (name: string, flags: { output: string }) => {
        const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
        const info = await getNode(name, { signal: ctx.signal, dialect });
        ctx.out(format === "table" ? renderTable(mode.nodeTable([{ info }]), true) : await formatData(format, info));
      });
  }

  return node;
}

function missing(prog: string, name: string): never {
  throw new NotFoundError(`node "${name}" not found (${prog} node list shows the nodes)`);
}
