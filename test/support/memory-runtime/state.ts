/** Everything the memory engine holds, and lookups that fail as Docker's do. */
import type { ContainerSpec, Labels, PublishedPort } from "../../../src/runtime/types.js";
import { Behaviour } from "./behaviour.js";
import { parseSubnet, type Subnet } from "./cidr.js";
import { Clock } from "./clock.js";
import { engineError } from "./failure.js";
import { FileTree } from "./files.js";
import { lookup, newId } from "./ids.js";
import { ImageStore } from "./images.js";
import type { LogBuffer } from "./logs.js";

export interface NetworkRecord {
  readonly id: string;
  readonly name: string;
  readonly labels: Labels;
  readonly subnet?: Subnet;
  /** Docker reports a gateway only for a subnet it picked itself. */
  readonly gatewayShown: boolean;
  /** bridge, host and none: always there, never removable, not counted as left behind. */
  readonly builtin: boolean;
}

export interface VolumeRecord {
  readonly name: string;
  readonly labels: Labels;
  /** Made for a container (a mount without a source, an image's VOLUME); removed with it. */
  readonly anonymous: boolean;
  readonly files: FileTree;
}

/** A container's place on a network; it has an address only while the container runs. */
export interface Endpoint {
  /** "" when the network did not exist when the container was created. */
  readonly networkId: string;
  readonly aliases: readonly string[];
  ip: string;
}

/** A volume mounted into a container, resolved to the volume's name. */
export interface VolumeMount {
  readonly target: string;
  readonly volume: string;
  readonly readOnly: boolean;
}

export interface ContainerRecord {
  readonly id: string;
  name: string;
  readonly spec: ContainerSpec;
  /** What the image and the spec together give the process. */
  readonly config: {
    readonly hostname: string;
    readonly env: Readonly<Record<string, string>>;
    readonly entrypoint?: readonly string[];
    readonly cmd?: readonly string[];
    readonly labels: Labels;
  };
  readonly created: number;
  state: "created" | "running" | "exited";
  startedAt?: Date;
  finishedAt?: Date;
  exitCode: number;
  /** By network name, as Docker keys them. */
  readonly endpoints: Map<string, Endpoint>;
  readonly volumes: readonly VolumeMount[];
  /** Host ports while running (hostPort 0 resolved). */
  activePorts: PublishedPort[];
  readonly files: FileTree;
  readonly logs: LogBuffer;
  /** The current run's process; undefined unless running. */
  run?: AbortController;
}

export const DEFAULT_BRIDGE = "bridge";

export class EngineState {
  readonly clock = new Clock();
  readonly images = new ImageStore();
  readonly behaviour = new Behaviour();
  /** Bind mount sources: the memory engine never touches the real host. */
  readonly host = new FileTree();
  readonly networks = new Map<string, NetworkRecord>();
  readonly volumes = new Map<string, VolumeRecord>();
  readonly containers = new Map<string, ContainerRecord>();
  private created = 0;

  constructor() {
    for (const [name, subnet] of [[DEFAULT_BRIDGE, "172.17.0.0/16"], ["host"], ["none"]] as const) {
      const parsed = subnet === undefined ? undefined : parseSubnet(subnet);
      const id = newId();
      this.networks.set(id, {
        id,
        name,
        labels: {},
        builtin: true,
        gatewayShown: parsed !== undefined,
        ...(parsed ? { subnet: parsed } : {}),
      });
    }
  }

  /** A creation sequence number: lists come newest first, as Docker's do. */
  nextCreated(): number {
    return ++this.created;
  }

  container(key: string): ContainerRecord | undefined {
    return lookup(this.containers.values(), key);
  }

  requireContainer(key: string): ContainerRecord {
    const c = this.container(key);
    if (c === undefined) throw engineError(404, `No such container: ${key}`);
    return c;
  }

  network(key: string): NetworkRecord | undefined {
    return lookup(this.networks.values(), key);
  }

  /** Containers running with an address on the network: what Docker counts as its endpoints. */
  activeOn(network: NetworkRecord): ContainerRecord[] {
    return [...this.containers.values()].filter((c) =>
      [...c.endpoints.values()].some((e) => e.networkId === network.id && e.ip !== ""),
    );
  }
}
