import { Command, Option } from "commander";
import {
  DEFAULT_STOP_TIMEOUT_SECONDS,
  createNodes,
  deleteNodes,
  getNode,
  listNodes,
  startNodes,
  stopNodes,
  type NodeInfo,
  type NodeRole,
  type ReadyLevel,
} from "../../index.js";
import { bool, collect, count, waitForOption } from "../options.js";
import { formatData, parseOutputFormat, table } from "../render.js";
import type { CliContext } from "../context.js";

interface CreateFlags {
  cluster: string;
  role: string;
  replicas: number;
  image?: string;
  k3sArg: string[];
  env: string[];
  volume: string[];
  token?: string;
  network?: string;
  wait: boolean;
  waitFor?: ReadyLevel;
  timeout?: string;
}

export function nodeCommand(ctx: CliContext): Command {
  const node = new Command("node").description("Add, remove, start, stop and list the nodes of clusters").alias("nodes");

  node
    .command("create")
    .argument(
      "[name]",
      "joining by URL: names the new nodes (k3box-NAME-ROLE-N); a k3box cluster's nodes are named by role and index",
    )
    .description("Add servers or agents to a cluster, or join a cluster k3box did not create by its URL and token")
    .requiredOption("-c, --cluster <name|url>", "a k3box cluster, or https://HOST:PORT of another cluster")
    .option("--role <role>", "server or agent", "agent")
    .option("--replicas <count>", "how many nodes", count("replica count"), 1)
    .option("-i, --image <image>", "k3s image (default: the image of the cluster's nodes)")
    .option("--k3s-arg <arg>", "extra k3s argument for the new nodes (repeatable)", collect, [])
    .option("-e, --env <KEY=VALUE>", "environment variable for the new nodes (repeatable)", collect, [])
    .option("-v, --volume <src:dest>", "mount a host path or volume into the new nodes (repeatable)", collect, [])
    .option("-t, --token <token>", "joining by URL: the cluster's token")
    .option("-n, --network <name>", "joining by URL: the Docker network for the new nodes (default bridge)")
    .addOption(new Option("--wait [bool]", "wait until the new nodes are ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .addOption(waitForOption())
    .option("--timeout <duration>", "deadline for the whole operation (e.g. 90s, 5m)")
    .addHelpText(
      "after",
      `
New nodes copy the settings of a node of the same role (image, arguments, env, volumes,
files); servers join one at a time, agents in parallel; the load balancer is updated in place.

Examples:
  k3box node create --cluster dev --role agent --replicas 2
  k3box node create --cluster ha --role server
  k3box node create extra --cluster https://10.0.0.5:6443 --token K10...::server:abc`,
    )
    .action(async (name: string | undefined, flags: CreateFlags) => {
      if (name !== undefined && !flags.cluster.startsWith("https://")) {
        ctx.err(`note: nodes of k3box cluster "${flags.cluster}" are named by role and index; "${name}" is not used`);
      }
      const r = await ctx.withProgress((onEvent, signal) =>
        createNodes(
          {
            cluster: flags.cluster,
            role: flags.role as NodeRole,
            replicas: flags.replicas,
            ...(flags.image !== undefined ? { image: flags.image } : {}),
            k3sArgs: flags.k3sArg,
            env: flags.env,
            volumes: flags.volume,
            ...(flags.token !== undefined ? { token: flags.token } : {}),
            ...(flags.network !== undefined ? { network: flags.network } : {}),
            ...(name !== undefined ? { name } : {}),
            wait: flags.wait,
            ...(flags.waitFor !== undefined ? { waitFor: flags.waitFor } : {}),
            ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
          },
          { onEvent, signal },
        ),
      );
      for (const n of r.nodes) ctx.err(`Node "${n}" created in "${r.cluster}"`);
    });

  node
    .command("delete")
    .alias("rm")
    .argument("<names...>", "node (container) names")
    .description("Delete nodes: out of the load balancer, the Node object, the container and its data volume")
    .addHelpText("after", "\nExamples:\n  k3box node delete k3box-dev-agent-1")
    .action(async (names: string[]) => {
      const deleted = await ctx.withProgress((onEvent, signal) => deleteNodes(names, { onEvent, signal }));
      for (const n of deleted) ctx.err(`Node "${n}" deleted`);
    });

  node
    .command("start")
    .argument("<names...>", "node (container) names")
    .description("Start stopped nodes and put them back into the load balancer")
    .addOption(new Option("--wait [bool]", "wait until the nodes are ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .option("--timeout <duration>", "deadline (e.g. 90s, 5m)")
    .addHelpText("after", "\nExamples:\n  k3box node start k3box-dev-agent-0")
    .action(async (names: string[], flags: { wait: boolean; timeout?: string }) => {
      const started = await ctx.withProgress((onEvent, signal) =>
        startNodes(names, {
          onEvent,
          signal,
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
    .addHelpText("after", "\nExamples:\n  k3box node stop k3box-dev-agent-0")
    .action(async (names: string[], flags: { stopTimeout: number }) => {
      const stopped = await ctx.withProgress((onEvent, signal) =>
        stopNodes(names, { onEvent, signal, stopTimeoutSeconds: flags.stopTimeout }),
      );
      for (const n of stopped) ctx.err(`Node "${n}" stopped`);
    });

  node
    .command("list")
    .alias("ls")
    .description("List nodes")
    .option("-c, --cluster <name>", "only this cluster's nodes")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .option("--no-headers", "omit the table header")
    .addHelpText("after", "\nExamples:\n  k3box node list\n  k3box node list --cluster dev -o json")
    .action(async (flags: { cluster?: string; output: string; headers: boolean }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const nodes = await listNodes({ signal: ctx.signal, ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}) });
      ctx.out(format === "table" ? nodeTable(nodes, flags.headers) : await formatData(format, nodes));
    });

  node
    .command("get")
    .argument("<name>", "node (container) name")
    .description("Show one node")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExamples:\n  k3box node get k3box-dev-server-0 -o yaml")
    .action(async (name: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output, ["table", "json", "yaml"]);
      const n = await getNode(name, { signal: ctx.signal });
      ctx.out(format === "table" ? nodeTable([n], true) : await formatData(format, n));
    });

  return node;
}

function nodeTable(nodes: readonly NodeInfo[], headers: boolean): string {
  const rows = nodes.map((n) => [n.name, n.role, n.cluster, n.state, n.ip ?? "", n.image]);
  const text = table(["NAME", "ROLE", "CLUSTER", "STATE", "IP", "IMAGE"], rows);
  return headers ? text : text.split("\n").slice(1).join("\n");
}
