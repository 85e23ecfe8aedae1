/** How a registry is reached from the host, from nodes and from pods, as lines for people. */
import type { RegistryNames } from "../index.js";

export function nameLines(r: { readonly names: RegistryNames }): string[] {
  const loopback = /^127\.0\.0\.1:(\d+)$/.exec(r.names.host);
  return [
    `  from the host (docker push/pull):   ${r.names.host}${loopback ? `  (also localhost:${loopback[1]})` : ""}`,
    `  in pod specs (nodes' containerd):   ${r.names.node}  (${r.names.host} works there too)`,
    `  from inside pods (in-cluster push): ${r.names.pod}`,
  ];
}
