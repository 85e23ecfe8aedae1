/** The log lines that explain why a node went down, out of everything it printed. */
import type { Runtime } from "../../runtime/types.js";

/** k3s (logrus) and its components (klog) say what went wrong in these forms. */
const EXPLAINS = /level=(fatal|error)|^Error: |\bError: |^[EF]\d{4} |\bpanic: |Shutdown request received/;
const SCANNED = 400;
const KEPT = 12;
const LAST = 5;

/**
 * The lines of the node's recent log that say what went wrong (fatal and error lines, the
 * kubelet's `Error:`), then its last few lines, without repeats: a crash-looping node prints
 * the same error every run, and the last lines alone rarely name the cause.
 */
export async function explainLog(runtime: Runtime, node: string, signal?: AbortSignal): Promise<string[]> {
  const lines: string[] = [];
  try {
    for await (const l of runtime.logs(node, { follow: false, tail: SCANNED }, signal)) lines.push(l);
  } catch {
    // The lines are a courtesy; the error they go with says what happened.
    return [];
  }
  return explainingLines(lines);
}

export function explainingLines(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  const picked: string[] = [];
  const key = (l: string) => l.replace(/^time="[^"]*" /, "").replace(/^[EFIW]\d{4} [\d:.]+\s+\d+ /, "");
  for (const l of lines) {
    if (!EXPLAINS.test(l) || seen.has(key(l))) continue;
    seen.add(key(l));
    picked.push(l);
  }
  const explaining = picked.slice(-KEPT);
  const last = lines.slice(-LAST).filter((l) => !explaining.includes(l));
  return [...explaining, ...last];
}
