/**
 * `--helm-chart NAME=CHART`, and the flags that qualify it: `--helm-values`, `--helm-namespace`
 * and `--helm-repo` apply to the `--helm-chart` before them, so each chart reads as one phrase:
 *
 *   --helm-chart redis=./redis-19.6.0.tgz --helm-values ./redis.yaml --helm-namespace data
 *   --helm-chart podinfo=podinfo:6.7.1 --helm-repo https://stefanprodan.github.io/podinfo
 */
import { type Command, InvalidArgumentError } from "commander";
import type { ChartInput } from "../index.js";

type ChartFlag = { -readonly [K in keyof ChartInput]: ChartInput[K] };

export function addHelmFlags(cmd: Command): Command {
  // Commander calls the parsers in command-line order, which is what ties a qualifier to its chart.
  const charts: ChartFlag[] = [];
  const qualify = (flag: string, key: "values" | "namespace" | "repo") => (value: string) => {
    const chart = charts.at(-1);
    if (chart === undefined) throw new InvalidArgumentError(`${flag} applies to the --helm-chart before it, and there is none`);
    if (chart[key] !== undefined) throw new InvalidArgumentError(`${flag} is given twice for chart "${chart.name}"`);
    chart[key] = value;
    return value;
  };
  return cmd
    .option(
      "--helm-chart <NAME=CHART>",
      "install a Helm chart: a packaged chart (.tgz), embedded; or with --helm-repo a chart name[:VERSION] (repeatable)",
      (value: string) => {
        const eq = value.indexOf("=");
        if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected NAME=CHART, got "${value}"`);
        charts.push({ name: value.slice(0, eq), chart: value.slice(eq + 1) });
        return charts;
      },
    )
    .option("--helm-values <file>", "values file (YAML) for the --helm-chart before it", qualify("--helm-values", "values"))
    .option(
      "--helm-namespace <ns>",
      "namespace of the --helm-chart before it (created when missing)",
      qualify("--helm-namespace", "namespace"),
    )
    .option(
      "--helm-repo <url>",
      "chart repository of the --helm-chart before it; the cluster fetches the chart (online)",
      qualify("--helm-repo", "repo"),
    );
}

/** The charts as the library takes them; a repository chart's `CHART:VERSION` is split here. */
export function chartsFromFlags(charts: readonly ChartFlag[] | undefined): ChartInput[] {
  return (charts ?? []).map((c) => {
    const colon = c.chart.lastIndexOf(":");
    if (c.repo === undefined || colon <= 0) return c;
    return { ...c, chart: c.chart.slice(0, colon), version: c.chart.slice(colon + 1) };
  });
}
