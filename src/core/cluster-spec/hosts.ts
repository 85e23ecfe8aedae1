import { isIP } from "node:net";
import { UsageError } from "../../base/errors.js";
import type { HostAlias } from "./types.js";

const HOST_NAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Parses `IP:NAME[,NAME...]`; an IPv6 address goes in brackets: `[::1]:name`. */
export function parseHostAlias(raw: string): HostAlias {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(raw);
  const colon = raw.indexOf(":");
  const ip = bracketed ? bracketed[1] : colon < 0 ? raw : raw.slice(0, colon);
  const rest = bracketed ? bracketed[2] : colon < 0 ? "" : raw.slice(colon + 1);
  if (ip === undefined || isIP(ip) === 0) {
    throw new UsageError(`invalid host alias "${raw}": "${ip ?? ""}" is not an IP address (expected IP:NAME[,NAME])`);
  }
  const names = (rest ?? "").split(",").map((n) => n.trim());
  if (names.length === 0 || names.some((n) => n === "")) {
    throw new UsageError(`invalid host alias "${raw}": expected IP:NAME[,NAME]`);
  }
  const bad = names.find((n) => !HOST_NAME_RE.test(n));
  if (bad !== undefined) throw new UsageError(`invalid host alias "${raw}": "${bad}" is not a valid host name`);
  return { ip, names, raw };
}
