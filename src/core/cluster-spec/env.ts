import { UsageError } from "../../base/errors.js";
import { parseNodeFilters, splitFilterSuffix } from "./filters.js";
import type { EnvVar, K3sArg, NodeFilter } from "./types.js";

const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses `KEY=VALUE[@FILTER]`; `KEY` alone takes the value from k3box's own environment, as docker
 * does. Unset there, it is an error, or with `passThrough` (k3d's way) a variable without a value,
 * which the nodes do not get.
 */
export function parseEnvVar(raw: string, env: NodeJS.ProcessEnv = process.env, passThrough = false): EnvVar {
  const { value, filter } = splitFilterSuffix(raw);
  const filters: NodeFilter[] = filter === undefined ? [] : parseNodeFilters(filter, `env "${raw}"`);
  const eq = value.indexOf("=");
  const key = eq < 0 ? value : value.slice(0, eq);
  if (!ENV_KEY_RE.test(key)) throw new UsageError(`invalid env "${raw}": "${key}" is not a valid variable name`);
  const val = eq < 0 ? env[key] : value.slice(eq + 1);
  if (val === undefined && !passThrough) {
    throw new UsageError(`invalid env "${raw}": ${key} has no value and is not set in the environment`);
  }
  return { key, ...(val !== undefined ? { value: val } : {}), filters, raw };
}

/** Parses `ARG[@FILTER]`, e.g. `--disable=traefik@server:0`. */
export function parseK3sArg(raw: string): K3sArg {
  const { value, filter } = splitFilterSuffix(raw);
  const filters: NodeFilter[] = filter === undefined ? [] : parseNodeFilters(filter, `k3s-arg "${raw}"`);
  if (!value.startsWith("-") || value === "-" || value === "--") {
    throw new UsageError(`invalid k3s-arg "${raw}": expected a flag such as --disable=traefik`);
  }
  return { arg: value, filters, raw };
}

const LABEL_KEY_RE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Parses `KEY=VALUE[@FILTER]`, a Kubernetes node label, into the k3s `--node-label` argument. */
export function parseNodeLabel(raw: string): K3sArg {
  const { value, filter } = splitFilterSuffix(raw);
  const filters: NodeFilter[] = filter === undefined ? [] : parseNodeFilters(filter, `node label "${raw}"`);
  const eq = value.indexOf("=");
  const key = eq < 0 ? value : value.slice(0, eq);
  const val = eq < 0 ? "" : value.slice(eq + 1);
  if (!LABEL_KEY_RE.test(key) || key.length > 316) {
    throw new UsageError(`invalid node label "${raw}": "${key}" is not a valid label key`);
  }
  if (!LABEL_VALUE_RE.test(val) || val.length > 63) {
    throw new UsageError(`invalid node label "${raw}": "${val}" is not a valid label value`);
  }
  return { arg: `--node-label=${key}=${val}`, filters, raw };
}
