import { UsageError } from "../../base/errors.js";
import { checkTimeoutMs } from "../limits.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Go-style durations such as `90s`, `2m30s`, `1h`; a bare number is seconds. `0` means none. */
export function parseDuration(text: string, what = "duration"): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) === 0 ? undefined : Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (t === "" || pos !== t.length) throw new UsageError(`invalid ${what} "${text}": use e.g. 90s, 2m or 1h30m`);
  return total === 0 ? undefined : Math.round(total);
}

/** A deadline as callers give it: a duration (`90s`), milliseconds, or 0 / nothing for none; at most LIMITS.timeoutMs. */
export function toTimeoutMs(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = checkTimeoutMs(typeof value === "string" ? (parseDuration(value, "timeout") ?? 0) : value, value);
  return ms > 0 ? ms : undefined;
}
