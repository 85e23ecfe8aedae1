/**
 * Endpoints of datastores k3box does not run (`--datastore external`), as k3s reads them: kine's
 * `postgres://` and `mysql://` DSNs, and `http(s)://` URLs of etcd. k3box checks them before any
 * node starts and shows them with the password left out.
 */
import { isIP } from "node:net";
import { UsageError } from "../../base/errors.js";

/** What k3s talks to behind the endpoint. */
export type ExternalDriver = "postgres" | "mysql" | "etcd";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ExternalEndpoint {
  /** As given: what k3s gets. */
  readonly url: string;
  readonly driver: ExternalDriver;
  /** The addresses k3s connects to; one must answer from the cluster's network. */
  readonly targets: readonly HostPort[];
  /** The endpoint without its password, for output and labels. */
  readonly shown: string;
}

const SCHEMES: Readonly<Record<string, ExternalDriver>> = {
  postgres: "postgres",
  postgresql: "postgres",
  mysql: "mysql",
  http: "etcd",
  https: "etcd",
};

const DEFAULT_PORTS: Readonly<Record<string, number>> = { postgres: 5432, postgresql: 5432, mysql: 3306, http: 80, https: 443 };

/** Query parameters that carry secrets (pgx takes `password=`, and TLS key passwords). */
const SECRET_PARAM = /pass(word)?|secret|token/i;

const FORM =
  "give <scheme>://<authority>: postgres://USER:PASSWORD@HOST:5432/DB, mysql://USER:PASSWORD@tcp(HOST:3306)/DB or http(s)://HOST:2379 for etcd";

/** Parses an endpoint; an unknown scheme, a missing host or a Unix socket is a UsageError naming it (password left out). */
export function parseExternalEndpoint(url: string, flag = "--datastore-endpoint"): ExternalEndpoint {
  const shown = redactEndpoint(url);
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(url.trim());
  if (!m) throw new UsageError(`invalid ${flag} "${shown}": ${FORM}`);
  const scheme = (m[1] as string).toLowerCase();
  const rest = m[2] as string;
  const driver = SCHEMES[scheme];
  if (driver === undefined) {
    throw new UsageError(
      `unknown datastore scheme "${scheme}" in ${flag} "${shown}": use postgres://, mysql://, or http(s):// for etcd`,
    );
  }
  const port = DEFAULT_PORTS[scheme] as number;
  const targets =
    driver === "mysql"
      ? [mysqlTarget(rest, shown, flag)]
      : driver === "etcd"
        ? etcdTargets(url.trim(), shown, flag)
        : authorityHosts(rest, port, shown, flag);
  return { url: url.trim(), driver, targets, shown };
}

/** `[user[:password]@]tcp(host[:port])/db`: go-sql-driver's DSN after the scheme, split as it splits it. */
function mysqlTarget(rest: string, shown: string, flag: string): HostPort {
  const { address } = splitUser(rest);
  const m = /^([a-z0-9]*)(?:\((.*)\))?$/i.exec(address);
  if (!m || !rest.includes("/")) throw new UsageError(`invalid ${flag} "${shown}": ${FORM}`);
  const protocol = (m[1] || "tcp").toLowerCase();
  if (protocol !== "tcp") {
    throw new UsageError(`${flag} "${shown}" names a ${protocol} address: the nodes reach a datastore over tcp only`);
  }
  if (m[2] === undefined || m[2] === "") {
    throw new UsageError(`${flag} "${shown}" names no host: give tcp(HOST:3306); without one it is the node itself`);
  }
  return hostPort(m[2], 3306, shown, flag);
}

/**
 * The user part and the address of what follows `scheme://`, split as go-sql-driver splits a DSN:
 * the database name follows the last '/', and the user part ends at the last '@' before it, so a
 * password may hold '/', '@' or ':'.
 */
function splitUser(rest: string): { user?: string; address: string; tail: string } {
  const slash = rest.lastIndexOf("/");
  const end = slash < 0 ? rest.length : slash;
  const at = rest.lastIndexOf("@", end);
  return {
    ...(at >= 0 ? { user: rest.slice(0, at) } : {}),
    address: rest.slice(at + 1, end),
    tail: rest.slice(end),
  };
}

/** `[user[:password]@]host[:port][,host[:port]...][/db][?params]`. */
function authorityHosts(rest: string, port: number, shown: string, flag: string): HostPort[] {
  const end = rest.search(/[/?]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const hosts = authority.slice(authority.lastIndexOf("@") + 1);
  if (hosts === "") throw new UsageError(`${flag} "${shown}" names no host`);
  return hosts.split(",").map((h) => hostPort(h, port, shown, flag));
}

/** etcd endpoints: one URL or several separated by commas. */
function etcdTargets(url: string, shown: string, flag: string): HostPort[] {
  return url.split(",").map((u) => {
    let parsed: URL;
    try {
      parsed = new URL(u.trim());
    } catch {
      throw new UsageError(`invalid ${flag} "${shown}": ${FORM}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new UsageError(`invalid ${flag} "${shown}": etcd endpoints are http:// or https:// URLs`);
    }
    if (parsed.hostname === "") throw new UsageError(`${flag} "${shown}" names no host`);
    const port = parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port);
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port };
  });
}

function hostPort(text: string, defaultPort: number, shown: string, flag: string): HostPort {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(text);
  const m = bracket ?? plain;
  if (!m || (bracket && isIP(m[1] as string) !== 6)) throw new UsageError(`invalid host "${text}" in ${flag} "${shown}"`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) throw new UsageError(`port ${port} in ${flag} "${shown}" is out of range 1-65535`);
  return { host: m[1] as string, port };
}

/**
 * The endpoint with its password (and secret query parameters) left out: `scheme://user@…`.
 * Works on text that does not parse, too, so that a message about it shows no secret.
 */
export function redactEndpoint(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)(.*)$/s.exec(url.trim());
  if (!m) return url.includes("@") ? `<redacted>@${url.slice(url.lastIndexOf("@") + 1)}` : url;
  const { user, address, tail } = splitUser(m[2] as string);
  const name = user === undefined ? "" : `${user.split(":")[0]}@`;
  const after = `${address}${tail}`.replace(/([?&])([^=&]*)=([^&]*)/g, (all, sep: string, key: string) =>
    SECRET_PARAM.test(key) ? `${sep}${key}=<redacted>` : all,
  );
  return `${m[1]}${name}${after}`;
}
