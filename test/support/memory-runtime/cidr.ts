/** IPv4 subnets for the engine's networks: parsing, overlap, addresses, and the pool Docker picks from. */
import { isIPv4 } from "node:net";

export interface Subnet {
  /** The network address as a 32-bit number. */
  readonly base: number;
  readonly prefix: number;
  readonly text: string;
}

function toNumber(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

export function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** undefined when `text` is not an IPv4 CIDR. */
export function parseSubnet(text: string): Subnet | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (!m || !isIPv4(m[1] as string) || Number(m[2]) > 32) return undefined;
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(toNumber(m[1] as string) / size) * size;
  return { base, prefix, text };
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** The subnet's nth address: 1 is the gateway, containers get 2 and up. */
export function address(s: Subnet, n: number): string {
  return toAddress(s.base + n);
}

/** Docker's default pools, in the order it tries them: 172.17-31.0.0/16, then 192.168.0-240.0/20. */
export function* defaultPool(): Generator<Subnet> {
  for (let b = 17; b <= 31; b++) yield parseSubnet(`172.${b}.0.0/16`) as Subnet;
  for (let c = 0; c < 256; c += 16) yield parseSubnet(`192.168.${c}.0/20`) as Subnet;
}
