import { Command } from "commander";
import {
  DEFAULT_K3S_IMAGE,
  RuntimeUnavailableError,
  blockerError,
  doctor,
  type CheckStatus,
  type DoctorReport,
} from "../../index.js";
import type { CliContext } from "../context.js";
import { formatData, parseOutputFormat } from "../render.js";

const MARK: Record<CheckStatus, string> = {
  ok: "ok",
  adapted: "adapted",
  warning: "WARNING",
  blocker: "BLOCKER",
  skipped: "skipped",
};

export function doctorCommand(ctx: CliContext): Command {
  return new Command("doctor")
    .description("Check the engine: what k3box finds, what it adapts on its own, and what you must change")
    .option("-i, --image <image>", "the node image to probe with (pulled when missing)", DEFAULT_K3S_IMAGE)
    .option("-o, --output <format>", "json or yaml")
    .addHelpText(
      "after",
      "\nExits 9 when something stops k3s from running here (3 when the engine cannot be reached); warnings do not fail it.\n\nExamples:\n  k3box doctor\n  k3box doctor --image k3box/node:v1.35.5-k3s1 -o json",
    )
    .action(async (flags: { image: string; output?: string }) => {
      const format = flags.output === undefined ? undefined : parseOutputFormat(flags.output, ["json", "yaml"]);
      const report = await ctx.withProgress((onEvent, signal) => doctor({ onEvent, signal, image: flags.image }));
      ctx.out(format ? await formatData(format, report) : render(report));
      if (report.blockers === 0) return;
      const engine = report.checks.find((c) => c.id === "engine");
      throw engine?.status === "blocker" ? new RuntimeUnavailableError(engine.found) : blockerError(report);
    });
}

function render(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = r.checks.map(
    (c) =>
      `${MARK[c.status].padEnd(8)} ${c.id.padEnd(width)}  ${c.found}${c.action ? `\n${" ".repeat(width + 11)}-> ${c.action}` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}
