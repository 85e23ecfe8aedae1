/**
 * Objects in a cluster's API, as its admin: server-side apply, reading, deleting, waiting for a
 * condition, and finding what carries a label. Kinds map to their resources through discovery, so
 * this works for any kind the API serves, custom resources included.
 */
import { NotFoundError, UsageError } from "../../base/errors.js";
import type { Labels } from "../../runtime/types.js";
import { type ClientCredentials, pollUntil } from "../readiness/api.js";
import { type ApiResource, type Discovery, resourcePath, splitApiVersion } from "./discovery.js";
import type { KubeObject } from "./manifests.js";
import { jsonBody, kubeCall, kubeJson } from "./request.js";

/** An object by kind and name; without an apiVersion the kind may be any name kubectl takes (`deploy`, `deployments.apps`). */
export interface ObjectRef {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly name: string;
  /** Namespaced kinds only; default `default`. */
  readonly namespace?: string;
}

/** An object reference, or `KIND/NAME` (`deployment/web`) in the default namespace. */
export type ObjectTarget = ObjectRef | string;

/** An object as the API addresses it. */
export interface Located {
  readonly resource: ApiResource;
  readonly name: string;
  readonly namespace?: string;
  readonly path: string;
  /** For messages: `Deployment demo/web`. */
  readonly what: string;
}

/** What to wait for: a condition type that must be True (`Available`, `Ready`, `Established`, `Complete`), `exists`, `deleted`, or a test of the object. */
export type ObjectCondition = string | ((obj: KubeObject) => boolean);

function parseTarget(target: ObjectTarget): ObjectRef {
  if (typeof target !== "string") return target;
  const slash = target.indexOf("/");
  if (slash <= 0 || slash === target.length - 1) {
    throw new UsageError(`object "${target}": expected KIND/NAME, such as deployment/web, or {kind, name, namespace}`);
  }
  return { kind: target.slice(0, slash), name: target.slice(slash + 1) };
}

function located(resource: ApiResource, name: string, namespace: string | undefined): Located {
  const ns = resource.namespaced ? (namespace ?? "default") : undefined;
  return {
    resource,
    name,
    ...(ns !== undefined ? { namespace: ns } : {}),
    path: resourcePath(resource, ns, name),
    what: `${resource.kind} ${ns !== undefined ? `${ns}/` : ""}${name}`,
  };
}

/** Where the API keeps an object; a kind it does not serve is a NotFoundError naming it. */
export async function locate(discovery: Discovery, target: ObjectTarget, signal?: AbortSignal): Promise<Located> {
  const ref = parseTarget(target);
  const find = () =>
    ref.apiVersion !== undefined ? discovery.forKind(ref.apiVersion, ref.kind, signal) : discovery.byName(ref.kind, signal);
  let resource = await find();
  if (resource === undefined) {
    // A CRD established since discovery was read serves new kinds.
    discovery.forget();
    resource = await find();
  }
  if (resource === undefined) {
    throw new NotFoundError(`the API serves no kind "${ref.kind}"${ref.apiVersion !== undefined ? ` in ${ref.apiVersion}` : ""}`);
  }
  return located(resource, ref.name, ref.namespace);
}

export async function getObject(creds: ClientCredentials, at: Located, signal?: AbortSignal): Promise<KubeObject | undefined> {
  return kubeJson<KubeObject>(creds, "GET", at.path, signal);
}

/** Deletes the object (its dependents in the background); false when there was none. */
export async function deleteObject(creds: ClientCredentials, at: Located, signal?: AbortSignal): Promise<boolean> {
  return (await kubeJson(creds, "DELETE", `${at.path}?propagationPolicy=Background`, signal)) !== undefined;
}

/** Why the object does not meet the condition yet; undefined when it does. */
export function unmet(obj: KubeObject | undefined, condition: ObjectCondition): string | undefined {
  if (condition === "deleted") {
    if (obj === undefined) return undefined;
    return obj.metadata.deletionTimestamp !== undefined ? "it is being deleted" : "it still exists";
  }
  if (obj === undefined) return "it does not exist";
  if (condition === "exists") return undefined;
  if (typeof condition === "function") return condition(obj) ? undefined : "the test is not met";
  const status = obj.status as
    | {
        observedGeneration?: number;
        conditions?: ReadonlyArray<{ type: string; status: string; reason?: string; message?: string }>;
      }
    | undefined;
  const generation = obj.metadata.generation;
  // A status written for an older spec says nothing about the current one.
  if (
    typeof generation === "number" &&
    typeof status?.observedGeneration === "number" &&
    status.observedGeneration < generation
  ) {
    return `its status is for generation ${status.observedGeneration}, the object is at ${generation}`;
  }
  const c = status?.conditions?.find((x) => x.type.toLowerCase() === condition.toLowerCase());
  if (c === undefined) return `it has no ${condition} condition yet`;
  if (c.status === "True") return undefined;
  const why = [c.reason, c.message].filter(Boolean).join(": ");
  return `${c.type}=${c.status}${why ? ` (${why})` : ""}`;
}

/**
 * Polls the object until it meets the condition and returns it as it was then (undefined for
 * `deleted`); the signal's deadline fails the wait with a TimeoutError saying what was last seen.
 */
export async function waitForObject(
  creds: ClientCredentials,
  at: Located,
  condition: ObjectCondition,
  signal: AbortSignal,
): Promise<KubeObject | undefined> {
  let last: KubeObject | undefined;
  const named = typeof condition === "function" ? "a test" : condition;
  await pollUntil(
    `${at.what} (${named})`,
    async () => {
      last = await getObject(creds, at, signal);
      return unmet(last, condition);
    },
    signal,
    250,
  );
  return last;
}

export interface ApplyOptions {
  /** Who owns the applied fields (server-side apply's fieldManager). */
  readonly fieldManager: string;
  /** Added to every object's labels. */
  readonly labels: Labels;
  readonly signal: AbortSignal;
}

/** Namespaces first, then CRDs, then the rest, each group in the order given. */
function applyOrder(o: KubeObject): number {
  if (o.kind === "Namespace") return 0;
  if (o.kind === "CustomResourceDefinition") return 1;
  return 2;
}

/**
 * Applies the objects with server-side apply (their owner `fieldManager`, taking over fields
 * others own), each with the given labels; an object of a kind a CRD in the same batch defines
 * waits until that CRD is served. Returns each object as applied.
 */
export async function applyObjects(
  creds: ClientCredentials,
  discovery: Discovery,
  objects: readonly KubeObject[],
  o: ApplyOptions,
): Promise<ObjectRef[]> {
  const ordered = [...objects].sort((a, b) => applyOrder(a) - applyOrder(b));
  const definedHere = new Set<string>();
  const applied: ObjectRef[] = [];
  for (const obj of ordered) {
    const name = obj.metadata.name as string;
    let resource = await discovery.forKind(obj.apiVersion, obj.kind, o.signal);
    const groupKind = `${splitApiVersion(obj.apiVersion).group}/${obj.kind}`;
    if (resource === undefined && definedHere.has(groupKind)) resource = await servedKind(discovery, obj, o.signal);
    if (resource === undefined) {
      throw new NotFoundError(`${obj.kind} ${name}: the API serves no kind "${obj.kind}" in ${obj.apiVersion}`);
    }
    const at = located(resource, name, obj.metadata.namespace);
    const body = {
      ...obj,
      metadata: {
        ...obj.metadata,
        ...(at.namespace !== undefined ? { namespace: at.namespace } : {}),
        labels: { ...obj.metadata.labels, ...o.labels },
      },
    };
    const query = `?fieldManager=${encodeURIComponent(o.fieldManager)}&force=true`;
    await kubeCall(creds, "PATCH", `${at.path}${query}`, o.signal, jsonBody(body, "application/apply-patch+yaml"));
    applied.push({
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name,
      ...(at.namespace !== undefined ? { namespace: at.namespace } : {}),
    });
    if (obj.kind === "CustomResourceDefinition") {
      const spec = obj.spec as { group?: string; names?: { kind?: string } } | undefined;
      definedHere.add(`${spec?.group ?? ""}/${spec?.names?.kind ?? ""}`);
    }
  }
  return applied;
}

/** The resource of a kind whose CRD was just applied, once the API serves it. */
async function servedKind(discovery: Discovery, obj: KubeObject, signal: AbortSignal): Promise<ApiResource> {
  let resource: ApiResource | undefined;
  await pollUntil(
    `the API to serve ${obj.kind} (${obj.apiVersion})`,
    async () => {
      discovery.forget();
      resource = await discovery.forKind(obj.apiVersion, obj.kind, signal);
      return resource === undefined ? "its CustomResourceDefinition is not established yet" : undefined;
    },
    signal,
    250,
  );
  return resource as ApiResource;
}

/**
 * Every object carrying the label selector, of every kind that can be listed and deleted (each
 * object once, though some kinds are served by two groups).
 */
export async function labelledObjects(
  creds: ClientCredentials,
  discovery: Discovery,
  selector: string,
  signal?: AbortSignal,
): Promise<Located[]> {
  const resources = (await discovery.all(signal)).filter((r) => r.verbs.includes("list") && r.verbs.includes("delete"));
  const lists = await Promise.all(
    resources.map(async (r) => {
      const list = await kubeJson<{ items?: KubeObject[] }>(
        creds,
        "GET",
        `${resourcePath(r)}?labelSelector=${encodeURIComponent(selector)}`,
        signal,
      );
      return (list?.items ?? []).map((item) => ({ item, at: located(r, item.metadata.name as string, item.metadata.namespace) }));
    }),
  );
  const seen = new Set<string>();
  const found: Located[] = [];
  for (const { item, at } of lists.flat()) {
    const key = item.metadata.uid ?? at.path;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push(at);
  }
  return found;
}
