/** Output renderers: data goes to stdout in the format asked for. */
import { UsageError } from "../index.js";

export type OutputFormat = "table" | "json" | "yaml" | "name";

export function parseOutputFormat<F extends OutputFormat>(value: string, allowed: readonly F[]): F {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`invalid output format "${value}": use ${allowed.join(", ")}`);
  }
  return value as F;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

export async function formatData(format: "json" | "yaml", data: unknown): Promise<string> {
  return format === "json" ? JSON.stringify(data, null, 2) + "\n" : (await import("./yaml-output.js")).toYaml(data);
}
