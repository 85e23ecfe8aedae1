import { UsageError } from "../errors.js";
import type { FilterGroup, IndexSelector, NodeFilter, NodeRef } from "./types.js";

const FILTER_RE = /^(server|servers|agent|agents|loadbalancer|all)(?::(\*|\d+(?:,\d+)*|\d*-\d*))?(?::(proxy|direct))?$/;

/** Splits `VALUE@FILTER;FILTER` at the last unescaped `@`; `\@` is a literal `@`. */
export function splitFilterSuffix(input: string): { value: string; filter?: string } {
  for (let i = input.length - 1; i >= 0; i--) {
    if (input[i] === "@" && input[i - 1] !== "\\") {
      return { value: unescapeAt(input.slice(0, i)), filter: input.slice(i + 1) };
    }
  }
  return { value: unescapeAt(input) };
}

function unescapeAt(s: string): string {
  return s.replaceAll("\\@", "@");
}

export function parseNodeFilters(text: string, context: string): NodeFilter[] {
  const parts = text.split(";").map((p) => p.trim());
  if (parts.some((p) => p === "")) {
    throw new UsageError(`invalid node filter "${text}" in ${context}: empty filter`);
  }
  return parts.map((p) => parseOne(p, context));
}

function parseOne(text: string, context: string): NodeFilter {
  const m = FILTER_RE.exec(text);
  if (!m) {
    throw new UsageError(
      `invalid node filter "${text}" in ${context}: expected server[:N], agent[:N], loadbalancer or all (N: 0 | 0,1 | 1- | 0-2 | *)`,
    );
  }
  const groupWord = m[1] as string;
  const group = groupWord.replace(/s$/, "") as FilterGroup;
  const sel = m[2];
  if (sel !== undefined && (group === "loadbalancer" || group === "all")) {
    throw new UsageError(`invalid node filter "${text}" in ${context}: "${groupWord}" takes no index`);
  }
  const suffix = m[3] as "proxy" | "direct" | undefined;
  return { group, select: parseSelector(sel, text, context), ...(suffix ? { suffix } : {}) };
}

function parseSelector(sel: string | undefined, text: string, context: string): IndexSelector {
  if (sel === undefined || sel === "*") return { kind: "all" };
  if (sel.includes("-")) {
    const [a = "", b = ""] = sel.split("-");
    const from = a === "" ? 0 : Number(a);
    if (b === "") return { kind: "range", from };
    const to = Number(b);
    if (to < from) throw new UsageError(`invalid node filter "${text}" in ${context}: range ${sel} is empty`);
    return { kind: "range", from, to };
  }
  return { kind: "list", indices: sel.split(",").map(Number) };
}

function selects(sel: IndexSelector, index: number): boolean {
  switch (sel.kind) {
    case "all":
      return true;
    case "list":
      return sel.indices.includes(index);
    case "range":
      return index >= sel.from && (sel.to === undefined || index <= sel.to);
  }
}

/** Whether a filter list selects the given node. `all` means every server and agent, and the load balancer. */
export function filterMatches(filters: readonly NodeFilter[], node: NodeRef): boolean {
  return filters.some((f) => {
    if (f.group === "all") return true;
    if (f.group !== node.role) return false;
    return selects(f.select, node.index);
  });
}

/** Every index a filter names must exist; a filter matching no node is a mistake worth reporting. */
export function checkFiltersInRange(
  filters: readonly NodeFilter[],
  counts: { servers: number; agents: number; loadBalancer: boolean },
  context: string,
): void {
  const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);
  checkFiltersSelect(
    filters,
    { server: upTo(counts.servers), agent: upTo(counts.agents), loadBalancer: counts.loadBalancer },
    context,
  );
}

/** The indices a cluster's nodes have now: after deletes and adds they need not be 0..n-1. */
export interface NodeIndices {
  readonly server: readonly number[];
  readonly agent: readonly number[];
  readonly loadBalancer: boolean;
}

/** Every filter must select at least one of the nodes there are; a named index must exist. */
export function checkFiltersSelect(filters: readonly NodeFilter[], nodes: NodeIndices, context: string): void {
  for (const f of filters) {
    if (f.group === "loadbalancer" && !nodes.loadBalancer) {
      throw new UsageError(`node filter "loadbalancer" in ${context} selects nothing: the load balancer is disabled`);
    }
    if (f.group !== "server" && f.group !== "agent") continue;
    const have = nodes[f.group];
    const contiguous = have.every((index, i) => index === i);
    const describe = () =>
      contiguous
        ? `the cluster has ${have.length} ${f.group}${have.length === 1 ? "" : "s"}`
        : `the cluster's ${f.group}s are ${have.map((i) => `${f.group}:${i}`).join(", ")}`;
    if (f.select.kind === "list") {
      const missing = f.select.indices.find((i) => !have.includes(i));
      if (missing !== undefined) {
        throw new UsageError(`node filter "${f.group}:${missing}" in ${context} selects nothing: ${describe()}`);
      }
    } else if (f.select.kind === "range") {
      const { from, to } = f.select;
      if (!have.some((i) => i >= from && (to === undefined || i <= to))) {
        throw new UsageError(`node filter "${f.group}:${from}-${to ?? ""}" in ${context} selects nothing: ${describe()}`);
      }
    } else if (have.length === 0) {
      throw new UsageError(`node filter "${f.group}:*" in ${context} selects nothing: the cluster has no ${f.group}s`);
    }
  }
}

/** The text form of parsed filters, `server:0;agent:*`, as in flags and config files. */
export function formatNodeFilters(filters: readonly NodeFilter[]): string {
  return filters
    .map((f) => {
      const sel =
        f.group === "loadbalancer" || f.group === "all"
          ? ""
          : f.select.kind === "all"
            ? ":*"
            : f.select.kind === "list"
              ? `:${f.select.indices.join(",")}`
              : `:${f.select.from}-${f.select.to ?? ""}`;
      return `${f.group}${sel}${f.suffix ? `:${f.suffix}` : ""}`;
    })
    .join(";");
}
