/**
 * A network namespace that plays a remote host: a veth pair with a /30 between it and this
 * machine. Each namespace takes a slot N, and with it three /24s no host route may overlap:
 *   10.213.N.0/30  the link: 10.213.N.1 on this machine, 10.213.N.2 in the namespace
 *   10.214.N.0/24  the engine's default bridge (docker0 inside the namespace)
 *   10.215.N.0/24  the engine's pool for user networks (/26 each)
 * Docker's own pools (172.17-31.x, 192.168.x) and Podman's (10.216-217.x, see podman.ts) stay clear.
 */
import { randomInt } from "node:crypto";
import { run } from "../../e2e/helpers.js";
import { commandOk } from "./processes.js";

export const NETNS_PREFIX = "k3box-eng-";

export interface Slot {
  readonly index: number;
  readonly netns: string;
  /** This machine's end of the link: where the namespace reaches the local engine's published ports. */
  readonly hostAddress: string;
  /** The namespace's end: the "remote host" address clients use. */
  readonly address: string;
  readonly bridgeCidr: string;
  readonly poolBase: string;
  readonly hostVeth: string;
  readonly nsVeth: string;
}

function slot(index: number): Slot {
  return {
    index,
    netns: `${NETNS_PREFIX}${index}`,
    hostAddress: `10.213.${index}.1`,
    address: `10.213.${index}.2`,
    bridgeCidr: `10.214.${index}.1/24`,
    poolBase: `10.215.${index}.0/24`,
    // Interface names are limited to 15 characters.
    hostVeth: `k3beng${index}h`,
    nsVeth: `k3beng${index}n`,
  };
}

function toInt(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

function overlaps(a: string, b: string): boolean {
  const [ipA = "", lenA = "32"] = a.split("/");
  const [ipB = "", lenB = "32"] = b.split("/");
  const len = Math.min(Number(lenA), Number(lenB));
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return (toInt(ipA) & mask) >>> 0 === (toInt(ipB) & mask) >>> 0;
}

async function hostRoutes(): Promise<string[]> {
  const out = await commandOk("ip", ["-4", "route", "show", "table", "all"]);
  return out
    .split("\n")
    .map((l) => l.trim().split(" ")[0] ?? "")
    .map((dst) => (dst === "default" ? "" : dst.includes("/") ? dst : `${dst}/32`))
    .filter((dst) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(dst));
}

/**
 * Claims a free slot and builds its namespace and link. `ip netns add` fails when the name
 * exists, which makes the claim safe against test files starting engines at the same time.
 */
export async function createNamespace(): Promise<Slot> {
  const routes = await hostRoutes();
  const start = randomInt(1, 255);
  for (let i = 0; i < 254; i++) {
    const s = slot(((start + i - 1) % 254) + 1);
    const ranges = [`10.213.${s.index}.0/24`, `10.214.${s.index}.0/24`, `10.215.${s.index}.0/24`];
    if (routes.some((r) => ranges.some((range) => overlaps(r, range)))) continue;
    if ((await run("ip", ["netns", "add", s.netns])).code !== 0) continue;
    try {
      await commandOk("ip", ["link", "add", s.hostVeth, "type", "veth", "peer", "name", s.nsVeth]);
      await commandOk("ip", ["link", "set", s.nsVeth, "netns", s.netns]);
      await commandOk("ip", ["addr", "add", `${s.hostAddress}/30`, "dev", s.hostVeth]);
      await commandOk("ip", ["link", "set", s.hostVeth, "up"]);
      await commandOk("ip", ["-n", s.netns, "addr", "add", `${s.address}/30`, "dev", s.nsVeth]);
      await commandOk("ip", ["-n", s.netns, "link", "set", s.nsVeth, "up"]);
      await commandOk("ip", ["-n", s.netns, "link", "set", "lo", "up"]);
      await commandOk("ip", ["-n", s.netns, "route", "add", "default", "via", s.hostAddress]);
      return s;
    } catch (err) {
      await removeNamespace(s.netns);
      throw err;
    }
  }
  throw new Error("no free 10.213.N.0/24 slot for a test network namespace");
}

/**
 * Removes the namespace and its link. Deleting a namespace destroys its veth pair only later, in
 * the kernel's own time; deleting the host end first removes the pair at once, and while the
 * namespace still holds the slot, so no other claim can have reused the name.
 */
export async function removeNamespace(netns: string): Promise<void> {
  const index = Number(netns.slice(NETNS_PREFIX.length));
  if (netns.startsWith(NETNS_PREFIX) && Number.isInteger(index)) await run("ip", ["link", "del", slot(index).hostVeth]);
  await run("ip", ["netns", "del", netns]);
}

export async function namespacePids(netns: string): Promise<number[]> {
  const r = await run("ip", ["netns", "pids", netns]);
  return r.code === 0 ? r.stdout.split("\n").filter(Boolean).map(Number) : [];
}

export async function namespaces(): Promise<string[]> {
  const r = await run("ip", ["netns", "list"]);
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(NETNS_PREFIX));
}
