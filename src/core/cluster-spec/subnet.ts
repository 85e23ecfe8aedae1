import { isIPv4 } from "node:net";
import { UsageError } from "../../base/errors.js";

/** Parses an IPv4 CIDR such as `172.28.0.0/16`; `auto` means the engine picks, as with no subnet. */
export function parseSubnet(text: string): string | undefined {
  const t = text.trim();
  if (t === "auto" || t === "") return undefined;
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(t);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !isIPv4(m[1] as string) || prefix < 8 || prefix > 30) {
    throw new UsageError(`invalid subnet "${text}": an IPv4 CIDR such as 172.28.0.0/16 (prefix 8-30), or auto`);
  }
  return t;
}
