/** `$VAR`, `${VAR}` and `${VAR:-default}` in the values of a config file, from the environment. */
import { isMap, isPair, isScalar, isSeq, parse, Scalar, visit } from "yaml";
import type { ConfigSource, FieldPath, Problem } from "./source.js";

const REFERENCE = /\$(?:\$|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|(\{[^}]*\}?))/g;

/**
 * Expands every string value in place. An unset variable without a default is a problem
 * naming it; `$$` is a literal `$`. An unquoted value that expands to a number or boolean
 * becomes one, as if written so (`servers: ${SERVERS}`).
 */
export function expandEnv(source: ConfigSource, env: NodeJS.ProcessEnv): Problem[] {
  const problems: Problem[] = [];
  visit(source.doc, {
    Scalar(key, node, ancestors) {
      if (key === "key" || typeof node.value !== "string" || !node.value.includes("$")) return;
      const path = pathOf(ancestors, node);
      const text = node.value;
      const expanded = text.replace(REFERENCE, (whole, bare?: string, braced?: string, fallback?: string, bad?: string) => {
        if (whole === "$$") return "$";
        if (bad !== undefined) {
          problems.push({ path, message: `invalid variable reference "${whole}": use $NAME, \${NAME} or \${NAME:-default}` });
          return whole;
        }
        const name = (bare ?? braced) as string;
        const value = env[name];
        if (value !== undefined && (value !== "" || fallback === undefined)) return value;
        if (fallback !== undefined) return fallback;
        problems.push({
          path,
          message: `environment variable ${name} is not set (write \${${name}:-default} for a default, $$ for a literal $)`,
        });
        return whole;
      });
      if (expanded === text) return;
      node.value = node.type === Scalar.PLAIN ? retype(expanded) : expanded;
    },
  });
  return problems;
}

function retype(text: string): unknown {
  try {
    const value: unknown = parse(text);
    return typeof value === "number" || typeof value === "boolean" ? value : text;
  } catch {
    return text;
  }
}

/** The field path of a node from the visitor's ancestors. */
function pathOf(ancestors: readonly unknown[], node: unknown): FieldPath {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (const [i, a] of chain.entries()) {
    const next = chain[i + 1];
    if (isPair(a) && isScalar(a.key)) path.push(String(a.key.value));
    else if (isSeq(a) && next !== undefined) path.push(a.items.indexOf(next as never));
    else if (isMap(a)) continue;
  }
  return path;
}
