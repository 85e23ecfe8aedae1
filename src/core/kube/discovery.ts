/**
 * Which resource serves a kind, as the API's discovery documents say: its plural (the path), its
 * scope, its verbs. Custom resources appear once their CRD is established, so an answer that
 * lacks a kind can be asked again.
 */
import type { ClientCredentials } from "../readiness/api.js";
import { kubeJson } from "./request.js";

export interface ApiResource {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  /** `v1`, `apps/v1`: what objects of the kind carry. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

interface ResourceList {
  readonly resources?: ReadonlyArray<{
    readonly name: string;
    readonly singularName?: string;
    readonly namespaced: boolean;
    readonly kind: string;
    readonly verbs?: readonly string[];
    readonly shortNames?: readonly string[];
  }>;
}

interface GroupList {
  readonly groups?: ReadonlyArray<{ readonly name: string; readonly preferredVersion?: { readonly groupVersion: string } }>;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The URL path of a resource's collection, or of one object in it. */
export function resourcePath(r: ApiResource, namespace?: string, name?: string): string {
  const base = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${r.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
}

/** The discovery documents of one cluster, each read once until `forget`. */
export class Discovery {
  private readonly versions = new Map<string, Promise<ApiResource[] | undefined>>();
  private preferred: Promise<string[]> | undefined;

  constructor(private readonly creds: ClientCredentials) {}

  /** Reads everything again: a CRD established since may have added kinds. */
  forget(): void {
    this.versions.clear();
    this.preferred = undefined;
  }

  /** The resources an API version serves (subresources left out); undefined when it serves none. */
  resources(apiVersion: string, signal?: AbortSignal): Promise<ApiResource[] | undefined> {
    let pending = this.versions.get(apiVersion);
    if (pending === undefined) {
      pending = this.read(apiVersion, signal);
      this.versions.set(apiVersion, pending);
      // A failed read is not an answer to keep.
      pending.catch(() => this.versions.delete(apiVersion));
    }
    return pending;
  }

  private async read(apiVersion: string, signal?: AbortSignal): Promise<ApiResource[] | undefined> {
    const { group, version } = splitApiVersion(apiVersion);
    const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    const list = await kubeJson<ResourceList>(this.creds, "GET", path, signal);
    if (list === undefined) return undefined;
    return (list.resources ?? [])
      .filter((r) => !r.name.includes("/"))
      .map((r) => ({
        group,
        version,
        apiVersion,
        kind: r.kind,
        plural: r.name,
        singular: r.singularName || r.kind.toLowerCase(),
        shortNames: r.shortNames ?? [],
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
      }));
  }

  /** The resource serving `kind` in `apiVersion`, if the API serves it now. */
  async forKind(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ApiResource | undefined> {
    return (await this.resources(apiVersion, signal))?.find((r) => r.kind === kind);
  }

  /** Every resource of every group, in the version each group prefers. */
  async all(signal?: AbortSignal): Promise<ApiResource[]> {
    if (this.preferred === undefined) {
      const pending = (async () => {
        const groups = await kubeJson<GroupList>(this.creds, "GET", "/apis", signal);
        return ["v1", ...(groups?.groups ?? []).flatMap((g) => (g.preferredVersion ? [g.preferredVersion.groupVersion] : []))];
      })();
      this.preferred = pending;
      pending.catch(() => {
        this.preferred = undefined;
      });
    }
    const lists = await Promise.all((await this.preferred).map((v) => this.resources(v, signal)));
    return lists.flatMap((l) => l ?? []);
  }

  /**
   * A resource by any name kubectl takes for it: its kind, plural, singular or a short name, in
   * any case, optionally qualified by its group (`deployments.apps`, `Deployment.apps`).
   */
  async byName(name: string, signal?: AbortSignal): Promise<ApiResource | undefined> {
    const wanted = name.toLowerCase();
    const names = (r: ApiResource) => [r.kind.toLowerCase(), r.plural, r.singular, ...r.shortNames];
    const all = await this.all(signal);
    const matches = all.filter(
      (r) => names(r).includes(wanted) || (r.group !== "" && names(r).some((n) => `${n}.${r.group}` === wanted)),
    );
    // The core group wins a short name, as with kubectl (`events`, not `events.events.k8s.io`).
    return matches.find((r) => r.group === "") ?? matches[0];
  }
}
