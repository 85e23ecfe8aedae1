/** A cluster spec as plain data for people to read (`config view`, `--dry-run`): filters as text, secrets hidden. */
import { formatNodeFilters } from "./filters.js";
import type { ClusterDatastore, ClusterSpec } from "./types.js";

export const REDACTED = "<redacted>";
/** Environment variables whose values are not shown. */
export const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL/i;
/** k3s flags whose values carry secrets: tokens, keys, and datastore URLs with credentials in them. */
const SECRET_FLAG = /^--?[a-z0-9-]*(token|secret|password|key|datastore-endpoint)[a-z0-9-]*$/i;

/** `--token=X` and `--token X` (and the other secret flags) with the value hidden. */
export function redactArgs(args: readonly string[]): string[] {
  return args.map((a, i) => {
    const eq = a.indexOf("=");
    if (eq > 0 && SECRET_FLAG.test(a.slice(0, eq))) return `${a.slice(0, eq)}=${REDACTED}`;
    return i > 0 && SECRET_FLAG.test(args[i - 1] as string) && !a.startsWith("-") ? REDACTED : a;
  });
}

export function specView(spec: ClusterSpec): Record<string, unknown> {
  const filtered = <T extends { filters: ClusterSpec["ports"][number]["filters"] }>(item: T, rest: Record<string, unknown>) => ({
    ...rest,
    nodeFilters: formatNodeFilters(item.filters),
  });
  return {
    name: spec.name,
    servers: spec.servers,
    agents: spec.agents,
    image: spec.image,
    datastore: datastoreView(spec.datastore),
    api: { host: spec.api.host, hostIP: spec.api.hostIp, hostPort: spec.api.hostPort ?? "auto" },
    network: spec.network ?? `(own network)`,
    ...(spec.subnet !== undefined ? { subnet: spec.subnet } : {}),
    token: spec.token === undefined ? "(generated)" : REDACTED,
    ports: spec.ports.map((p) =>
      filtered(p, {
        port: p.raw,
        hostIP: p.hostIp,
        hostPort: p.hostPort ?? "auto",
        containerPort: p.containerPort,
        protocol: p.protocol,
      }),
    ),
    volumes: spec.volumes.map((v) =>
      filtered(v, {
        ...(v.source !== undefined ? { source: v.source } : {}),
        destination: v.destination,
        ...(v.options ? { options: v.options } : {}),
      }),
    ),
    env: spec.env.map((e) => filtered(e, { name: e.key, value: SECRET_NAME.test(e.key) ? REDACTED : e.value })),
    k3sArgs: spec.k3sArgs.map((a) => filtered(a, { arg: redactArgs([a.arg])[0] })),
    hostAliases: spec.hostAliases.map((h) => ({ ip: h.ip, hostnames: [...h.names] })),
    files: spec.files.map((f) =>
      filtered(f, {
        destination: f.destination,
        from: f.raw,
        bytes: Buffer.byteLength(f.content),
        mode: (f.mode ?? 0o644).toString(8),
      }),
    ),
    charts: spec.charts.map((c) => ({
      name: c.name,
      ...("content" in c.chart
        ? { chart: c.chart.file, bytes: c.chart.content.length }
        : { chart: c.chart.name, repo: c.chart.repo, ...(c.chart.version !== undefined ? { version: c.chart.version } : {}) }),
      ...(c.namespace !== undefined ? { namespace: c.namespace } : {}),
      ...(c.valuesContent !== undefined ? { values: `${Buffer.byteLength(c.valuesContent)} bytes` } : {}),
    })),
    ...(spec.bundle
      ? {
          bundle: {
            path: spec.bundle.path,
            ...(spec.bundle.k3sVersion !== undefined ? { k3s: spec.bundle.k3sVersion } : {}),
            nodeImages: spec.bundle.nodeImages ? `${spec.bundle.nodeImages.size} bytes` : "none",
            engineImages: [...spec.bundle.engineImages],
          },
        }
      : {}),
    registries: {
      ...(spec.registries.create
        ? {
            create: {
              name: spec.registries.create.name,
              image: spec.registries.create.image,
              hostIp: spec.registries.create.hostIp,
              hostPort: spec.registries.create.hostPort ?? "auto",
            },
          }
        : {}),
      use: spec.registries.use.map((u) => (u.port === undefined ? u.name : `${u.name}:${u.port}`)),
      ...(spec.registries.config ? { config: { mirrors: Object.keys(spec.registries.config.mirrors) } } : {}),
    },
    loadBalancer: spec.loadBalancer ? { image: spec.loadBalancerImage } : false,
    imageImportMode: spec.imageImportMode,
    wait: spec.wait,
    waitFor: spec.waitFor,
    ...(spec.adaptationsOff.length > 0 ? { adaptationsOff: spec.adaptationsOff } : {}),
    timeout: spec.timeoutMs === undefined ? "none" : `${spec.timeoutMs / 1000}s`,
    kubeconfig: { updateDefault: spec.kubeconfig.updateDefault, switchContext: spec.kubeconfig.switchContext },
    rollback: spec.rollback,
  };
}

/** The datastore as people read it: an external endpoint without its password. */
export function datastoreView(ds: ClusterDatastore): Record<string, unknown> {
  if (ds.type === "external") return { type: ds.type, endpoint: ds.endpoint.shown };
  if (!("image" in ds)) return { type: ds.type };
  return {
    type: ds.type,
    image: ds.image,
    ...(ds.publish ? { port: `${ds.publish.hostIp}:${ds.publish.hostPort}` } : {}),
    ...(ds.volume !== undefined ? { volume: ds.volume } : {}),
  };
}
