/**
 * The kubeconfig data model (client-go's `clientcmd/api/v1` Config, as YAML
 * spells it). Only the fields k3box reads or writes are typed; every other
 * field is carried through the index signatures so that a read-modify-write
 * never drops something another tool put there.
 */

import { UsageError } from "../../base/errors.js";

export interface KubeExtension {
  name: string;
  extension?: unknown;
  [key: string]: unknown;
}

export interface KubeCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
  "proxy-url"?: string;
  extensions?: KubeExtension[];
  [key: string]: unknown;
}

export interface KubeContext {
  cluster?: string;
  user?: string;
  namespace?: string;
  extensions?: KubeExtension[];
  [key: string]: unknown;
}

export interface KubeUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  username?: string;
  password?: string;
  extensions?: KubeExtension[];
  [key: string]: unknown;
}

// The body key is optional because files written by hand or by other tools
// may omit it, and such entries must survive a merge unchanged.
export interface NamedCluster {
  name: string;
  cluster?: KubeCluster;
  [key: string]: unknown;
}

export interface NamedContext {
  name: string;
  context?: KubeContext;
  [key: string]: unknown;
}

export interface NamedUser {
  name: string;
  user?: KubeUser;
  [key: string]: unknown;
}

/**
 * A parsed kubeconfig. The functions of this module never mutate a
 * `KubeConfig` they are given; results share untouched entries with their
 * inputs, so treat configs as immutable values.
 */
export interface KubeConfig {
  apiVersion: string;
  kind: string;
  preferences: Record<string, unknown>;
  clusters: readonly NamedCluster[];
  contexts: readonly NamedContext[];
  users: readonly NamedUser[];
  /** "" when unset, as kubectl writes it. */
  "current-context": string;
  extensions?: KubeExtension[];
  [key: string]: unknown;
}

export function emptyKubeconfig(): KubeConfig {
  return {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [],
    contexts: [],
    users: [],
    "current-context": "",
  };
}

/** The entry names k3box owns for one cluster. */
export interface KubeconfigEntryNames {
  cluster: string;
  context: string;
  user: string;
}

/** The entries of one cluster: `PREFIX-NAME` for cluster and context, `admin@PREFIX-NAME` for the user. */
export function kubeconfigEntryNames(clusterName: string, prefix = "k3box"): KubeconfigEntryNames {
  // An empty name would make k3box own the entries "k3box-" and
  // "admin@k3box-", which no cluster can ever have created.
  if (clusterName === "") throw new UsageError("cluster name must not be empty");
  const base = `${prefix}-${clusterName}`;
  return { cluster: base, context: base, user: `admin@${base}` };
}
