/** Image import progress: one byte bar per node on a terminal, one line per start and end elsewhere. */
import chalk from "chalk";
import type { createLogUpdate } from "log-update";
import type { ClusterEvent } from "../index.js";
import { canAnimate } from "./terminal.js";

type ImportEvent = Extract<ClusterEvent, { type: "import-start" | "import-progress" | "import-done" }>;

interface Line {
  source: string;
  bytes: number;
  total?: number;
  done?: Extract<ImportEvent, { type: "import-done" }>;
}

const BAR_WIDTH = 24;

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function bar(bytes: number, total: number | undefined): string {
  if (!total) return "";
  // Engine sizes are estimates: the bar stops short of full until the node is done.
  const ratio = Math.min(bytes / total, 0.99);
  const filled = Math.round(ratio * BAR_WIDTH);
  return `[${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}] ${String(Math.floor(ratio * 100)).padStart(2)}% `;
}

function outcome(e: Extract<ImportEvent, { type: "import-done" }>): string {
  const secs = `${(e.ms / 1000).toFixed(1)}s`;
  switch (e.status) {
    case "imported":
      return `${chalk.green("✓")} imported ${e.images.join(", ")} (${formatBytes(e.bytes)} in ${secs})`;
    case "skipped":
      return `${chalk.green("✓")} skipped: already has ${e.images.join(", ")}`;
    case "failed":
      return `${chalk.red("✗")} failed: ${e.error ?? "unknown error"}`;
  }
}

export interface ImportView {
  onEvent(e: ImportEvent): void;
  stop(): void;
}

/** `logUpdate`: the line redrawing library, given where bars are drawn (a terminal). */
export function createImportView(stream: NodeJS.WriteStream, logUpdate?: typeof createLogUpdate): ImportView {
  const lines = new Map<string, Line>();
  if (!canAnimate(stream) || logUpdate === undefined) {
    return {
      onEvent(e) {
        if (e.type === "import-start") stream.write(`${e.node}: importing ${e.source}…\n`);
        else if (e.type === "import-done") stream.write(`${e.node}: ${outcome(e)}\n`);
      },
      stop() {},
    };
  }

  const width = () => Math.max(...[...lines.keys()].map((k) => k.length));
  const log = logUpdate(stream);
  let timer: NodeJS.Timeout | undefined;
  const render = () => {
    timer = undefined;
    const w = width();
    log(
      [...lines.entries()]
        .map(([node, l]) => {
          const state = l.done
            ? outcome(l.done)
            : `${bar(l.bytes, l.total)}${formatBytes(l.bytes)}${l.total ? ` / ${formatBytes(l.total)}` : ""}  ${chalk.dim(l.source)}`;
          return `${node.padEnd(w)}  ${state}`;
        })
        .join("\n"),
    );
  };
  return {
    onEvent(e) {
      const l = lines.get(e.node) ?? { source: "", bytes: 0 };
      lines.set(e.node, l);
      if (e.type === "import-start") {
        l.source = e.source;
        l.bytes = 0;
        if (e.total !== undefined) l.total = e.total;
        delete l.done;
      } else if (e.type === "import-progress") {
        l.bytes = e.bytes;
      } else {
        l.source = e.source;
        l.done = e;
      }
      timer ??= setTimeout(render, 80);
    },
    stop() {
      if (timer) clearTimeout(timer);
      if (lines.size > 0) {
        render();
        log.done();
      }
    },
  };
}
