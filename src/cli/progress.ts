/**
 * Renders operation events on stderr. On a terminal: one spinner line naming every step that is
 * running, and a line in the past tense for each step as it finishes. Elsewhere: the finished
 * steps as plain lines.
 */
import chalk from "chalk";
import type { Ora } from "ora";
import type { ClusterEvent, EventSink } from "../index.js";
import { createImportView, type ImportView } from "./import-progress.js";
import { canAnimate } from "./terminal.js";

/** What a step is called while it runs, and once it is done; a node's name follows. */
const LABELS: Record<string, readonly [running: string, done: string]> = {
  prepare: ["Checking the engine, host ports and kubeconfig", "Checked the engine, host ports and kubeconfig"],
  image: ["Getting image", "Got image"],
  network: ["Creating the network", "Created the network"],
  "create-node": ["Creating", "Created"],
  "start-node": ["Starting", "Started"],
  kubeconfig: ["Fetching the kubeconfig", "Fetched the kubeconfig"],
  "wait-api": ["Waiting for the API through the load balancer", "API answered through the load balancer"],
  "merge-kubeconfig": ["Merging the kubeconfig", "Merged the kubeconfig"],
  "build-node-image": ["Building the node image", "Built the node image"],
  rollback: ["Rolling back", "Rolled back"],
  "remove-nodes": ["Removing nodes", "Removed nodes"],
  "remove-network": ["Removing the network", "Removed the network"],
  "remove-volumes": ["Removing volumes", "Removed volumes"],
  "remove-kubeconfig": ["Removing kubeconfig entries", "Removed kubeconfig entries"],
  "create-registry": ["Creating registry", "Created registry"],
  "start-registry": ["Starting registry", "Started registry"],
  "wait-registry": ["Waiting for registry", "Registry answered:"],
  "connect-registry": ["Attaching the registry to the cluster network", "Attached the registry to the cluster network"],
  "connect-network": ["Attaching to the cluster network", "Attached to the cluster network"],
  "disconnect-network": ["Detaching from the cluster network", "Detached from the cluster network"],
  "node-registries": ["Updating node registry configs", "Updated node registry configs"],
  "remove-registry": ["Removing registries", "Removed registries"],
  "wait-node": ["Waiting for", "Waited for"],
  "stop-node": ["Stopping", "Stopped"],
  "update-loadbalancer": ["Reloading the load balancer config", "Reloaded the load balancer config"],
  "remove-node-object": ["Removing Node objects from the API", "Removed Node objects from the API"],
  "remove-node": ["Removing", "Removed"],
  "create-loadbalancer": ["Creating the new load balancer", "Created the new load balancer"],
  "replace-loadbalancer": ["Setting the old load balancer aside", "Set the old load balancer aside"],
  "remove-old-loadbalancer": ["Removing the old load balancer", "Removed the old load balancer"],
  "wait-nodes": ["Waiting for every node to be registered and Ready", "Every node registered and Ready"],
  "wait-workloads": ["Waiting until pods can be created (default ServiceAccount)", "Pods can be created"],
  "wait-addons": ["Waiting for the add-ons to be Available", "Add-ons Available"],
  "change-files": ["Updating files in", "Updated files in"],
  engine: ["Asking the engine", "The engine answered"],
  probe: ["Probing the node image", "Probed the node image"],
  "list-images": ["Listing the images", "Listed the images"],
  "save-images": ["Saving the images", "Saved the images"],
  "write-bundle": ["Writing the bundle", "Wrote the bundle"],
  "read-bundle": ["Reading the bundle", "Read the bundle"],
  "verify-bundle": ["Verifying the bundle's sums", "Verified the bundle's sums"],
  "load-images": ["Loading the images into the engine", "Loaded the images into the engine"],
  "copy-bundle-images": ["Copying the bundle's images into", "Copied the bundle's images into"],
};

interface Step {
  readonly step: string;
  readonly node?: string;
}

function label(s: Step, phase: "running" | "done"): string {
  const [running, done] = LABELS[s.step] ?? [s.step, `${s.step}: done`];
  return phase === "running" ? running : done;
}

function describe(s: Step, phase: "running" | "done"): string {
  return s.node ? `${label(s, phase)} ${s.node}` : label(s, phase);
}

/**
 * One line for every step running at once, grouped by what they do (`Starting a, b; Waiting for
 * c…`), cut to `width` with a count of what did not fit.
 */
export function runningLine(steps: readonly Step[], width: number, pull?: string): string {
  const groups = new Map<string, string[]>();
  for (const s of steps) {
    const text = s.step === "image" && pull !== undefined ? pull : label(s, "running");
    const nodes = groups.get(text) ?? [];
    if (s.node) nodes.push(s.node);
    groups.set(text, nodes);
  }
  const parts: { text: string; first: boolean }[] = [];
  for (const [text, nodes] of groups) {
    if (nodes.length === 0) parts.push({ text, first: true });
    else nodes.forEach((node, i) => parts.push({ text: i === 0 ? `${text} ${node}` : node, first: i === 0 }));
  }
  const max = Math.max(width, 20);
  let line = "";
  for (const [i, part] of parts.entries()) {
    const next = i === 0 ? part.text : `${line}${part.first ? "; " : ", "}${part.text}`;
    const rest = parts.length - i - 1;
    const reserve = rest > 0 ? ` (+${rest} more)…`.length : 1;
    if (i > 0 && next.length + reserve > max) return `${line} (+${parts.length - i} more)…`;
    line = next;
  }
  return `${line}…`;
}

export interface Progress {
  readonly onEvent: EventSink;
  stop(): void;
}

export async function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Promise<Progress> {
  if (quiet) return { onEvent: () => {}, stop: () => {} };
  const tty = canAnimate(stream);
  // The spinner and line drawing libraries are loaded only where they draw: CI logs and pipes get plain lines.
  const [ora, logUpdate] = tty
    ? await Promise.all([import("ora").then((m) => m.default), import("log-update").then((m) => m.createLogUpdate)])
    : [undefined, undefined];
  let spinner: Ora | undefined;
  let imports: ImportView | undefined;
  let pull: string | undefined;
  const running = new Map<string, Step>();
  const key = (e: Step) => `${e.step}:${e.node ?? ""}`;
  /** Brings the spinner in line with what is running now; called before anything is printed. */
  const refresh = () => {
    if (!ora) return;
    if (running.size === 0) {
      spinner?.stop();
      spinner = undefined;
      return;
    }
    // The spinner's prefix and a space take 2 columns.
    const text = runningLine([...running.values()], (stream.columns ?? 80) - 3, pull);
    if (spinner) {
      // Shown now, not at the next frame: a step that just finished must not linger as running.
      spinner.text = text;
      spinner.render();
    }
    // Ctrl-C must stay a signal: ora's stdin discarding would put the terminal in raw mode. Whether to
    // animate is decided above, once for every view; ora's own guess would turn it off wherever CI is set.
    else spinner = ora({ text, stream, discardStdin: false, isEnabled: true }).start();
  };
  const print = (line: string) => {
    spinner?.clear();
    stream.write(line + "\n");
    spinner?.render();
  };
  const onEvent = (e: ClusterEvent) => {
    switch (e.type) {
      case "step-start":
        // A rollback starts once the operation has failed: the steps still listed will not finish.
        if (e.step === "rollback") running.clear();
        running.set(key(e), { step: e.step, ...(e.node ? { node: e.node } : {}) });
        refresh();
        break;
      case "step-done":
        running.delete(key(e));
        if (e.step === "image") pull = undefined;
        refresh();
        print(`${chalk.green("✓")} ${describe(e, "done")} ${chalk.dim(`(${(e.ms / 1000).toFixed(1)}s)`)}`);
        break;
      case "warning":
        print(`${chalk.yellow("!")} ${e.message}`);
        break;
      case "note":
        print(`${chalk.cyan("i")} ${e.message}`);
        break;
      case "pull":
        if (tty && e.total) {
          pull = `Pulling ${e.image}: ${e.status} ${Math.round(((e.current ?? 0) / e.total) * 100)}%`;
          refresh();
        } else if (!tty && /^(Pulling from|Status:)/.test(e.status)) print(`  ${e.image}: ${e.status}`);
        break;
      case "milestone":
        break;
      case "import-start":
      case "import-progress":
      case "import-done":
        (imports ??= createImportView(stream, logUpdate)).onEvent(e);
        break;
    }
  };
  return {
    onEvent,
    stop() {
      imports?.stop();
      spinner?.stop();
      spinner = undefined;
    },
  };
}
