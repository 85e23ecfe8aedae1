/** Renders operation events on stderr: a spinner on a terminal, plain lines elsewhere. */
import chalk from "chalk";
import type { Ora } from "ora";
import type { ClusterEvent, EventSink } from "../index.js";
import { createImportView, type ImportView } from "./import-progress.js";
import { canAnimate } from "./terminal.js";

const LABELS: Record<string, string> = {
  prepare: "Checking the engine and ports",
  image: "Image ready",
  network: "Network created",
  "create-node": "Created",
  "start-node": "Started",
  kubeconfig: "Kubeconfig retrieved",
  "wait-api": "API ready through the load balancer",
  "wait-nodes": "Nodes registered and Ready",
  engine: "Engine answered",
  probe: "Node image probed",
  "wait-workloads": "Workloads can be created (default ServiceAccount)",
  "wait-addons": "Add-ons Available",
  "change-files": "Files updated in",
  "merge-kubeconfig": "Kubeconfig merged",
  "build-node-image": "Node image built",
  rollback: "Rolled back",
  "remove-nodes": "Nodes removed",
  "remove-network": "Network removed",
  "remove-volumes": "Volumes removed",
  "remove-kubeconfig": "Kubeconfig entries removed",
  "create-registry": "Created registry",
  "start-registry": "Registry answering",
  "wait-registry": "Registry answering",
  "connect-registry": "Registry attached to the cluster network",
  "connect-network": "Attached to the cluster network",
  "disconnect-network": "Detached from the cluster network",
  "node-registries": "Node registry configs updated",
  "remove-registry": "Registries removed",
  "wait-node": "Ready",
  "stop-node": "Stopped",
  "update-loadbalancer": "Load balancer config reloaded",
  "remove-node-object": "Node objects removed from the API",
  "remove-node": "Removed",
  "create-loadbalancer": "New load balancer created",
  "replace-loadbalancer": "Old load balancer set aside",
  "remove-old-loadbalancer": "Old load balancer removed",
  "list-images": "Images listed",
  "save-images": "Images saved",
  "write-bundle": "Bundle written",
  "read-bundle": "Bundle read",
  "verify-bundle": "Bundle sums verified",
  "load-images": "Images loaded into the engine",
  "copy-bundle-images": "Bundle images copied into",
};

export interface Progress {
  readonly onEvent: EventSink;
  stop(): void;
}

export async function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Promise<Progress> {
  if (quiet) return { onEvent: () => {}, stop: () => {} };
  const tty = canAnimate(stream);
  // The spinner library is loaded only where a spinner is shown: CI logs and pipes get plain lines.
  const ora = tty ? (await import("ora")).default : undefined;
  let spinner: Ora | undefined;
  let imports: ImportView | undefined;
  const running = new Map<string, string>();
  const key = (e: { step: string; node?: string }) => `${e.step}:${e.node ?? ""}`;
  const text = (e: { step: string; node?: string }) => `${LABELS[e.step] ?? e.step}${e.node ? ` ${e.node}` : ""}`;
  const refresh = () => {
    if (!tty) return;
    const current = [...running.values()].at(-1);
    if (current === undefined) {
      spinner?.stop();
      spinner = undefined;
    } else if (spinner) {
      spinner.text = current;
    } else if (ora) {
      spinner = ora({ text: current, stream }).start();
    }
  };
  const print = (line: string) => {
    if (spinner) spinner.clear();
    stream.write(line + "\n");
    if (spinner) spinner.render();
  };
  const onEvent = (e: ClusterEvent) => {
    switch (e.type) {
      case "step-start":
        running.set(key(e), `${text(e)}…`);
        refresh();
        break;
      case "step-done":
        running.delete(key(e));
        print(`${chalk.green("✓")} ${text(e)} ${chalk.dim(`(${(e.ms / 1000).toFixed(1)}s)`)}`);
        refresh();
        break;
      case "warning":
        print(`${chalk.yellow("!")} ${e.message}`);
        break;
      case "note":
        print(`${chalk.cyan("i")} ${e.message}`);
        break;
      case "pull":
        if (tty && spinner && e.total)
          spinner.text = `Pulling ${e.image}: ${e.status} ${Math.round(((e.current ?? 0) / e.total) * 100)}%`;
        else if (!tty && /^(Pulling from|Status:)/.test(e.status)) print(`  ${e.image}: ${e.status}`);
        break;
      case "milestone":
        break;
      case "import-start":
      case "import-progress":
      case "import-done":
        (imports ??= createImportView(stream)).onEvent(e);
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
