/** The datastore part of a cluster's input (`--datastore` and its flags) → the spec's datastore. */
import { resolve } from "node:path";
import { UsageError } from "../../base/errors.js";
import { DATASTORE_TYPES, ENGINES, isEngine, isShared, type DatastoreType } from "../datastore/engines.js";
import { parseExternalEndpoint } from "../datastore/endpoint.js";
import { parseRegistryPort } from "../registry/addresses.js";
import type { ClusterInput, InputField } from "./input.js";
import { DEFAULT_HOST_IP } from "./ports.js";
import type { ClusterDatastore } from "./types.js";
import { validateImage } from "./validate.js";

type Report = (message: string, field?: InputField) => void;

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** k3s arguments k3box sets itself for a datastore, which the user's would contradict. */
const DATASTORE_ARG = /^--(cluster-init|datastore-endpoint)(=|$)/;

/**
 * Without `--datastore`: an endpoint means external; several servers (or `--cluster-init` among the
 * k3s arguments) mean embedded etcd, as before there was a choice; one server is sqlite.
 */
function defaultType(input: ClusterInput, servers: number, k3sArgs: readonly string[]): DatastoreType {
  if (input.datastoreEndpoint !== undefined) return "external";
  return servers > 1 || k3sArgs.some((a) => /^--cluster-init(=|$)/.test(a)) ? "etcd" : "sqlite";
}

/** The datastore, or undefined when the input has problems (each reported, naming its field). */
export function buildDatastore(
  input: ClusterInput,
  servers: number,
  k3sArgs: readonly string[],
  report: Report,
): ClusterDatastore | undefined {
  const problems = { count: 0 };
  const fail = (message: string, field: InputField): undefined => {
    problems.count++;
    report(message, field);
    return undefined;
  };
  const attempt = <T>(fn: () => T, field: InputField): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      return fail(err.message, field);
    }
  };

  const given = input.datastore?.trim().toLowerCase();
  if (given !== undefined && !(DATASTORE_TYPES as readonly string[]).includes(given)) {
    return fail(`invalid datastore "${input.datastore}": use ${DATASTORE_TYPES.join(", ")}`, "datastore");
  }
  const type = (given as DatastoreType | undefined) ?? defaultType(input, servers, k3sArgs);
  const explicit = given !== undefined || input.datastoreEndpoint !== undefined;

  if (input.datastoreEndpoint !== undefined && type !== "external") {
    fail(
      `--datastore-endpoint is for --datastore external: ${isEngine(type) ? `k3box makes the endpoint of the ${type} database it runs` : `a ${type} datastore has none`}`,
      "datastoreEndpoint",
    );
  }
  if (type === "external" && input.datastoreEndpoint === undefined) {
    fail("--datastore external needs --datastore-endpoint URL (postgres://, mysql:// or http(s):// of etcd)", "datastore");
  }
  const engineOnly: ReadonlyArray<[InputField, string, string | undefined]> = [
    ["datastoreImage", "--datastore-image", input.datastoreImage],
    ["datastorePort", "--datastore-port", input.datastorePort],
    ["datastoreVolume", "the datastore volume", input.datastoreVolume],
  ];
  for (const [field, what, value] of engineOnly) {
    if (value !== undefined && !isEngine(type)) {
      fail(`${what} is for a database k3box runs (--datastore postgres, mysql or mariadb), not a ${type} datastore`, field);
    }
  }
  if (type === "sqlite" && servers > 1) {
    fail(
      `a sqlite datastore holds one server, not ${servers}: use --datastore etcd, or a database (postgres, mysql, mariadb, external)`,
      "datastore",
    );
  }
  for (const arg of k3sArgs) {
    const flag = DATASTORE_ARG.exec(arg)?.[1];
    // Without --datastore, a --datastore-endpoint among the k3s arguments is the user's own wiring, as before.
    const clash = flag === "datastore-endpoint" ? explicit : flag === "cluster-init" && (isShared(type) || given === "sqlite");
    if (clash)
      fail(`k3s argument "--${flag}" conflicts with --datastore ${type}: k3box sets up the servers' datastore`, "k3sArgs");
  }

  if (type === "external") {
    const endpoint =
      input.datastoreEndpoint === undefined
        ? undefined
        : attempt(() => parseExternalEndpoint(input.datastoreEndpoint as string), "datastoreEndpoint");
    return problems.count > 0 || endpoint === undefined ? undefined : { type, endpoint };
  }
  if (!isEngine(type)) return problems.count > 0 ? undefined : { type };

  const image = attempt(() => validateImage(input.datastoreImage ?? ENGINES[type].image), "datastoreImage");
  const port =
    input.datastorePort === undefined
      ? undefined
      : attempt(() => {
          const where = parseRegistryPort(input.datastorePort as string, "--datastore-port");
          if (where.hostPort === undefined)
            throw new UsageError(`invalid --datastore-port "${input.datastorePort}": give a port`);
          return { hostIp: where.hostIp ?? DEFAULT_HOST_IP, hostPort: where.hostPort };
        }, "datastorePort");
  // A relative path is taken from where k3box runs, as a --volume's is.
  const volume = input.datastoreVolume?.startsWith(".") ? resolve(input.datastoreVolume) : input.datastoreVolume;
  if (volume !== undefined && !volume.startsWith("/") && !VOLUME_NAME.test(volume)) {
    fail(`invalid datastore volume "${volume}": give a volume name or an absolute host path`, "datastoreVolume");
  }
  if (problems.count > 0 || image === undefined) return undefined;
  return {
    type,
    image,
    ...(port !== undefined ? { publish: port } : {}),
    ...(volume !== undefined ? { volume } : {}),
  };
}
