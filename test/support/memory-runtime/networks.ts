/** Networks: creation from Docker's address pools, endpoints with addresses and aliases, and their DNS. */
import type { Labels, NetworkInfo, NetworkSpec } from "../../../src/runtime/types.js";
import { address, defaultPool, overlaps, parseSubnet, size, type Subnet } from "./cidr.js";
import { engineError } from "./failure.js";
import { newId, shortId } from "./ids.js";
import { matchesLabels } from "./labels.js";
import { DEFAULT_BRIDGE, type ContainerRecord, type EngineState, type NetworkRecord } from "./state.js";

export function createNetwork(state: EngineState, spec: NetworkSpec): NetworkRecord {
  if ([...state.networks.values()].some((n) => n.name === spec.name)) {
    throw engineError(409, `network with name ${spec.name} already exists`);
  }
  const taken = [...state.networks.values()].flatMap((n) => (n.subnet ? [n.subnet] : []));
  let subnet: Subnet | undefined;
  if (spec.subnet !== undefined) {
    subnet = parseSubnet(spec.subnet);
    if (subnet === undefined) throw engineError(400, `invalid CIDR address: ${spec.subnet}`);
    if (taken.some((t) => overlaps(t, subnet as Subnet)))
      throw engineError(403, "Pool overlaps with other one on this address space");
  } else {
    subnet = [...defaultPool()].find((p) => !taken.some((t) => overlaps(t, p)));
    if (subnet === undefined) {
      throw engineError(
        500,
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
      );
    }
  }
  const network: NetworkRecord = {
    id: newId(),
    name: spec.name,
    labels: { ...spec.labels },
    subnet,
    gatewayShown: spec.subnet === undefined,
    builtin: false,
  };
  state.networks.set(network.id, network);
  return network;
}

/** As inspect shows it: only running containers have an endpoint, so only they are listed; a subnet given comes without its gateway. */
export function networkInfo(state: EngineState, n: NetworkRecord, withContainers: boolean): NetworkInfo {
  const containers = withContainers
    ? state
        .activeOn(n)
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((c) => c.name)
    : [];
  return {
    id: n.id,
    name: n.name,
    labels: { ...n.labels },
    ...(n.subnet ? { subnet: n.subnet.text } : {}),
    ...(n.subnet && n.gatewayShown ? { gateway: address(n.subnet, 1) } : {}),
    containers,
  };
}

/** Docker's network list leaves the containers out (only inspect has them). */
export function listNetworks(state: EngineState, labels: Labels): NetworkInfo[] {
  return [...state.networks.values()].filter((n) => matchesLabels(n.labels, labels)).map((n) => networkInfo(state, n, false));
}

/** Removal counts running containers only: a stopped one keeps an endpoint to a network that is gone. */
export function removeNetwork(state: EngineState, key: string): void {
  const n = state.network(key);
  if (n === undefined) throw engineError(404, `network ${key} not found`);
  if (n.builtin) throw engineError(403, `${n.name} is a pre-defined network and cannot be removed`);
  if (state.activeOn(n).length > 0) {
    throw engineError(403, `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
  }
  state.networks.delete(n.id);
}

function checkAliases(n: NetworkRecord, aliases: readonly string[]): void {
  if (aliases.length > 0 && n.name === DEFAULT_BRIDGE) {
    throw engineError(400, "network-scoped alias is supported only for containers in user defined networks");
  }
}

export function connect(state: EngineState, networkKey: string, containerKey: string, aliases: readonly string[]): void {
  const c = state.requireContainer(containerKey);
  const n = state.network(networkKey);
  if (n === undefined) throw engineError(404, `network ${networkKey} not found`);
  checkAliases(n, aliases);
  if (c.endpoints.has(n.name)) {
    // Docker ignores a second connect of a container that is not running; a running one has an endpoint already.
    if (c.state === "running") throw engineError(403, `endpoint with name ${c.name} already exists in network ${n.name}`);
    return;
  }
  const endpoint = { networkId: n.id, aliases: [...aliases], ip: "" };
  c.endpoints.set(n.name, endpoint);
  if (c.state === "running") endpoint.ip = allocateIp(state, n);
}

export function disconnect(state: EngineState, networkKey: string, containerKey: string): void {
  const c = state.requireContainer(containerKey);
  const n = state.network(networkKey);
  if (n === undefined) throw engineError(500, `container ${c.id} is not connected to the network ${networkKey}`);
  if (!c.endpoints.has(n.name)) throw engineError(500, `container ${c.id} is not connected to network ${n.name}`);
  c.endpoints.delete(n.name);
}

/** The lowest free address; the gateway has the first. */
function allocateIp(state: EngineState, n: NetworkRecord): string {
  if (n.subnet === undefined) return "";
  const used = new Set(
    [...state.containers.values()].flatMap((c) => [...c.endpoints.values()].filter((e) => e.networkId === n.id).map((e) => e.ip)),
  );
  for (let i = 2; i < size(n.subnet) - 1; i++) {
    const ip = address(n.subnet, i);
    if (!used.has(ip)) return ip;
  }
  throw engineError(500, `no available IPv4 addresses on network ${n.name}`);
}

/** Checks that every network the container is on still exists, before anything of a start happens. */
export function checkEndpoints(state: EngineState, c: ContainerRecord): void {
  for (const [name, e] of c.endpoints) {
    const n = state.networks.get(e.networkId);
    if (n === undefined) throw engineError(404, `network ${e.networkId || name} not found`);
    checkAliases(n, e.aliases);
  }
}

/** Gives a starting container its addresses. */
export function activateEndpoints(state: EngineState, c: ContainerRecord): void {
  for (const e of c.endpoints.values()) e.ip = allocateIp(state, state.networks.get(e.networkId) as NetworkRecord);
}

export function deactivateEndpoints(c: ContainerRecord): void {
  for (const e of c.endpoints.values()) e.ip = "";
}

/**
 * What Docker's embedded DNS answers inside `from` for `name`: on each user-defined network
 * `from` is on, the running containers called so (by name, short ID, or an alias they were
 * given on that network).
 */
export function resolveName(state: EngineState, from: ContainerRecord, name: string): string[] {
  const wanted = name.toLowerCase();
  const ips = new Set<string>();
  for (const own of from.endpoints.values()) {
    const n = state.networks.get(own.networkId);
    if (n === undefined || n.builtin || own.ip === "") continue;
    for (const c of state.containers.values()) {
      const e = [...c.endpoints.values()].find((x) => x.networkId === n.id && x.ip !== "");
      if (e === undefined) continue;
      const names = [c.name, shortId(c.id), ...e.aliases].map((x) => x.toLowerCase());
      if (names.includes(wanted)) ips.add(e.ip);
    }
  }
  return [...ips];
}
