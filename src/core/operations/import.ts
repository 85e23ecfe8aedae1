/**
 * Image import: each source is read once and streamed into `ctr images import` on every
 * selected node at the same time; nodes that already hold an engine image are skipped.
 */
import { createReadStream, statSync } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import type { Runtime } from "../../runtime/types.js";
import type { Dialect } from "../dialect.js";
import { abortError } from "../../base/abort.js";
import { K3boxError, NotFoundError, UsageError } from "../../base/errors.js";
import { ImportFailedError, type ImportResult, type NodeImportResult } from "../images/import-result.js";
import type { EventSink, ImportStatus } from "../events.js";
import { openArchive } from "../images/archive.js";
import { archivedImages } from "../images/contents.js";
import type { Platform, StoredImage } from "../images/containerd.js";
import { fanOut } from "../images/fanout.js";
import { NodeImages } from "../images/node.js";
import { parseImageReference } from "../images/reference.js";
import { checkFiltersSelect, filterMatches, parseNodeFilters } from "../cluster-spec/filters.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { runOperation, type OperationOptions } from "../operation.js";
import { observeCluster, type NodeStatus } from "../cluster-status.js";

/** An image name or archive path (an existing file wins, as in k3d), or a tar stream. */
export type ImageSource = string | { readonly stream: Readable; readonly label?: string };

export interface ImportOptions extends OperationOptions {
  /** Node filter (`server:0`, `agent:*`, `all`…); default every server and agent. */
  readonly nodes?: string;
}

/** An image whose identity is known before anything is sent, so nodes holding it can be skipped. */
interface KnownImage {
  /** As containerd names it. */
  readonly ref: string;
  /** The engine image ID: config digest, or target digest (containerd image store, OCI archives). */
  readonly id: string;
  /** For engine images: the name Docker saves it by, and its size. */
  readonly familiar?: string;
  readonly size?: number;
}

interface Source {
  readonly label: string;
  /** Undefined when only reading the stream can tell (compressed archives, stdin). */
  readonly images?: readonly KnownImage[];
  /** The tar to send, holding at least `needed`; read once. */
  open(needed: readonly KnownImage[]): Promise<{ tar: Readable; total?: number }>;
  /** Releases what the source holds open if it is never (fully) read. */
  close(): void;
}

/** One node's outcome for one source. */
type PerSource = Omit<NodeImportResult, "cluster">;

const PROGRESS_INTERVAL_MS = 50;
const PROGRESS_BYTES = 1024 * 1024;

/**
 * Imports images into the nodes of one cluster, or of several at once (each source is still
 * read once). Throws ImportFailedError, naming every failing node, if any node failed.
 */
export async function importImages(
  cluster: string | readonly string[],
  sources: readonly ImageSource[],
  options: ImportOptions = {},
): Promise<ImportResult> {
  // One signal for the operation: every node's calls listen to it. A failed node keeps what it
  // had; nodes that succeeded keep their checked copy, so there is nothing to roll back.
  return runOperation("image import", options, ({ runtime, onEvent, signal, dialect }) =>
    importWith(runtime, dialect, onEvent, signal, cluster, sources, options.nodes),
  );
}

async function importWith(
  runtime: Runtime,
  dialect: Dialect,
  onEvent: EventSink,
  signal: AbortSignal,
  cluster: string | readonly string[],
  sources: readonly ImageSource[],
  nodeFilter: string | undefined,
): Promise<ImportResult> {
  const clusters = [...new Set(typeof cluster === "string" ? [cluster] : cluster)];
  if (clusters.length === 0) throw new UsageError("no cluster given");
  for (const c of clusters) validateClusterName(c);
  if (sources.length === 0) throw new UsageError("nothing to import: give image names, archive files or -");
  // Nothing here runs inside a node: a bad source or node selection fails before any is touched.
  const [selected, sourcesChecked] = await Promise.allSettled([
    (async () => {
      const nodes = (await Promise.all(clusters.map((c) => selectNodes(runtime, dialect, c, nodeFilter, signal)))).flat();
      const platforms = new Map<string, Promise<Platform>>();
      for (const n of nodes) if (!platforms.has(n.image)) platforms.set(n.image, nodePlatform(runtime, n, signal));
      return Promise.all(nodes.map(async (n) => ({ ...n, platform: await (platforms.get(n.image) as Promise<Platform>) })));
    })(),
    resolveSources(runtime, sources, signal),
  ]);
  if (selected.status === "rejected" || sourcesChecked.status === "rejected") {
    if (sourcesChecked.status === "fulfilled") for (const s of sourcesChecked.value) s.close();
    throw selected.status === "rejected" ? selected.reason : (sourcesChecked as PromiseRejectedResult).reason;
  }
  const nodes = selected.value;
  const resolved = sourcesChecked.value;
  const targets = nodes.map((n) => new NodeImages(runtime, n.name, n.platform, signal));

  const results = new Map<string, PerSource[]>(nodes.map((n) => [n.name, []]));
  try {
    for (const source of resolved) {
      for (const r of await importSource(source, targets, onEvent, signal)) results.get(r.node)?.push(r);
    }
  } finally {
    for (const s of resolved) s.close();
  }
  if (signal.aborted) throw abortError(signal, "image import");
  const merged = nodes.map((n) => mergeResults(n.cluster, n.name, results.get(n.name) ?? []));
  const failures = merged.filter((r) => r.status === "failed").map((r) => ({ node: r.node, error: r.error ?? "failed" }));
  if (failures.length > 0) {
    const lines = failures.map((f) => `  ${f.node}: ${f.error}`);
    throw new ImportFailedError(
      `image import failed on ${failures.length} of ${nodes.length} node${nodes.length === 1 ? "" : "s"}:\n${lines.join("\n")}`,
      failures,
      { clusters, nodes: merged },
    );
  }
  return { clusters, nodes: merged };
}

async function selectNodes(
  runtime: Runtime,
  dialect: Dialect,
  cluster: string,
  filter: string | undefined,
  signal?: AbortSignal,
) {
  const status = await observeCluster(runtime, dialect, cluster, signal);
  if (!status) throw new NotFoundError(`cluster "${cluster}" not found`);
  let nodes = status.nodes.filter((n) => n.role !== "loadbalancer");
  if (filter !== undefined) {
    const filters = parseNodeFilters(filter, "--nodes");
    if (filters.some((f) => f.group === "loadbalancer")) {
      throw new UsageError(`node filter "${filter}": the load balancer holds no images; select servers or agents`);
    }
    const indices = (role: "server" | "agent") => nodes.filter((n) => n.role === role).map((n) => n.index);
    checkFiltersSelect(
      filters,
      { server: indices("server"), agent: indices("agent"), loadBalancer: status.loadBalancer },
      "--nodes",
    );
    nodes = nodes.filter((n) => filterMatches(filters, n));
  }
  if (nodes.length === 0) throw new UsageError(`cluster "${cluster}" has no node to import into`);
  const stopped = nodes.filter((n) => !n.running).map((n) => n.name);
  if (stopped.length > 0) {
    throw new UsageError(`node${stopped.length === 1 ? "" : "s"} ${stopped.join(", ")} not running: start the cluster first`);
  }
  return nodes.map((n) => ({ ...n, cluster }));
}

async function nodePlatform(runtime: Runtime, node: NodeStatus, signal?: AbortSignal): Promise<Platform> {
  // The node's own image says which platform its containerd runs.
  const info = await runtime.inspectImage(node.image, signal);
  if (!info)
    throw new NotFoundError(`the image of node ${node.name} (${node.image}) is gone from the engine: its platform is unknown`);
  return { os: info.os, architecture: info.architecture, ...(info.variant ? { variant: info.variant } : {}) };
}

/** Checks every source before any node is touched: missing images and unreadable files fail here. */
async function resolveSources(runtime: Runtime, sources: readonly ImageSource[], signal?: AbortSignal): Promise<Source[]> {
  const engine: KnownImage[] = [];
  const missing: string[] = [];
  const missingFiles: string[] = [];
  const archives: Source[] = [];
  const closeAll = () => archives.forEach((a) => a.close());
  try {
    for (const s of sources) {
      if (typeof s !== "string") {
        const label = s.label ?? "the input stream";
        archives.push(archiveSource(label, (await openArchive(s.stream, label)).tar));
        continue;
      }
      const size = fileSize(s);
      if (size !== undefined) {
        const { tar, compression } = await openArchive(createReadStream(s), s);
        // A plain file's index tells what it holds without reading it; and its bytes are what is sent.
        const plain = compression === "none";
        archives.push(archiveSource(s, tar, plain ? await archivedImages(s) : undefined, plain ? size : undefined));
        continue;
      }
      if (looksLikePath(s)) {
        // Not a name an image could have: a file the user meant, and it is not there.
        missingFiles.push(s);
        continue;
      }
      const images = await resolveEngineImage(runtime, s, signal);
      if (images === undefined) missing.push(s);
      else for (const i of images) if (!engine.some((e) => e.ref === i.ref)) engine.push(i);
    }
  } catch (err) {
    closeAll();
    throw err;
  }
  if (missingFiles.length > 0) {
    closeAll();
    throw new NotFoundError(
      `file${missingFiles.length === 1 ? "" : "s"} ${missingFiles.map((m) => `"${m}"`).join(", ")} not found`,
    );
  }
  if (missing.length > 0) {
    closeAll();
    const list = missing.map((m) => `"${m}"`).join(", ");
    throw new NotFoundError(
      `image${missing.length === 1 ? "" : "s"} ${list} not found in the Docker engine (nor as a file): build or pull ${missing.length === 1 ? "it" : "them"} first`,
    );
  }
  const fromEngine: Source = {
    label: engine.map((e) => e.familiar).join(", "),
    images: engine,
    // Only what some node lacks is saved.
    open: async (needed) => ({
      tar: await runtime.saveImages(
        needed.map((i) => i.familiar ?? i.ref),
        signal,
      ),
      total: [...new Map(needed.map((i) => [i.id, i.size ?? 0])).values()].reduce((a, b) => a + b, 0),
    }),
    close: () => {},
  };
  return [...(engine.length > 0 ? [fromEngine] : []), ...archives];
}

function archiveSource(label: string, tar: Readable, images?: readonly KnownImage[], total?: number): Source {
  return {
    label,
    ...(images ? { images } : {}),
    open: async () => ({ tar, ...(total !== undefined ? { total } : {}) }),
    close: () => tar.destroy(),
  };
}

/** A relative or absolute path, or an archive's file name: never an image reference. */
function looksLikePath(text: string): boolean {
  return /^(\.{1,2}\/|\/|~)/.test(text) || /\.(tar|tgz|tzst|tar\.(gz|zst|zstd))$/i.test(text);
}

function fileSize(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** An image by name, or by ID (then under each of its tags). */
async function resolveEngineImage(runtime: Runtime, input: string, signal?: AbortSignal): Promise<KnownImage[] | undefined> {
  const byId = /^(sha256:)?[0-9a-f]{12,64}$/.test(input);
  const ref = byId ? undefined : parseImageReference(input);
  const info = await runtime.inspectImage(input, signal);
  if (!info) return undefined;
  const known = (r: { canonical: string; familiar: string }) => ({
    ref: r.canonical,
    familiar: r.familiar,
    id: info.id,
    size: info.size,
  });
  if (ref) return [known(ref)];
  if (info.tags.length === 0)
    throw new UsageError(`image ${input} has no name: tag it (docker tag ${input} NAME:TAG) and import the name`);
  return info.tags.map((t) => known(parseImageReference(t)));
}

/** Tracks one node's bytes and reports them every PROGRESS_INTERVAL_MS, or PROGRESS_BYTES when bytes come in bursts. */
function meter(onEvent: EventSink, node: string, total?: number) {
  let bytes = 0;
  let last = 0;
  let reported = 0;
  return {
    add(n: number) {
      bytes += n;
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS || bytes - reported >= PROGRESS_BYTES) {
        last = now;
        reported = bytes;
        onEvent({ type: "import-progress", node, bytes, ...(total !== undefined ? { total } : {}) });
      }
    },
    get bytes() {
      return bytes;
    },
  };
}

interface Delivery {
  readonly target: NodeImages;
  /** The node's images before the import, to find what a failure left tagged. */
  readonly before: ReadonlyMap<string, StoredImage>;
  /** Known images the node lacks; undefined when the source's content is unknown. */
  readonly expect?: readonly KnownImage[];
}

/** One source into every node that lacks (or may lack) its images: skip, stream, confirm. */
async function importSource(
  source: Source,
  targets: readonly NodeImages[],
  onEvent: EventSink,
  signal?: AbortSignal,
): Promise<PerSource[]> {
  const results: PerSource[] = [];
  const deliveries: Delivery[] = [];
  await Promise.all(
    targets.map(async (target) => {
      const started = Date.now();
      try {
        const before = await target.list();
        if (source.images === undefined) return void deliveries.push({ target, before });
        const held = await Promise.all(source.images.map((i) => target.holds(before.get(i.ref), i.id)));
        const missing = source.images.filter((_, k) => !held[k]);
        if (missing.length > 0) deliveries.push({ target, before, expect: missing });
        else
          results.push(
            done(
              onEvent,
              source.label,
              target.node,
              "skipped",
              source.images.map((i) => i.ref),
              0,
              started,
            ),
          );
      } catch (err) {
        results.push(done(onEvent, source.label, target.node, "failed", [], 0, started, message(err)));
      }
    }),
  );
  if (deliveries.length === 0) return results;
  // One stream for all: whatever any node lacks. A node lacking only some images gets the
  // others again, which containerd takes without rewriting content it has.
  const needed = (source.images ?? []).filter((i) => deliveries.some((d) => d.expect?.includes(i)));
  let opened: { tar: Readable; total?: number };
  try {
    opened = await source.open(needed);
  } catch (err) {
    const started = Date.now();
    return [
      ...results,
      ...deliveries.map((d) => done(onEvent, source.label, d.target.node, "failed", [], 0, started, message(err))),
    ];
  }
  return [...results, ...(await deliver(opened.tar, deliveries, source.label, opened.total, onEvent, signal, needed))];
}

/** Streams one tar into every delivery's node at once, then confirms each node, or cleans it up. */
async function deliver(
  tar: Readable,
  deliveries: readonly Delivery[],
  label: string,
  total: number | undefined,
  onEvent: EventSink,
  signal: AbortSignal | undefined,
  needed: readonly KnownImage[],
): Promise<PerSource[]> {
  const started = Date.now();
  const stop = () => tar.destroy();
  signal?.addEventListener("abort", stop, { once: true });
  const pipes = deliveries.map(() => new PassThrough());
  const meters = deliveries.map((d) => meter(onEvent, d.target.node, total));
  for (const d of deliveries)
    onEvent({ type: "import-start", node: d.target.node, source: label, ...(total !== undefined ? { total } : {}) });
  const imports = deliveries.map(async (d, i) => {
    const pipe = pipes[i] as PassThrough;
    try {
      const imported = await d.target.importTar(pipe);
      const refs = needed.length > 0 ? needed.map((n) => n.ref) : [...imported.keys()];
      if (refs.length === 0) throw new K3boxError("the archive held no named image");
      // ctr's report can be cut short (output lost with the connection): then ask the node.
      const stored = needed.some((n) => !imported.has(n.ref)) ? await d.target.list() : undefined;
      for (const n of needed) {
        const target = imported.get(n.ref) ?? stored?.get(n.ref)?.target;
        if (target === undefined) throw new K3boxError(`${n.ref} is not in the node after the import`);
        await d.target.confirm(n.ref, target, n.id);
      }
      return done(onEvent, label, d.target.node, "imported", refs, meters[i]?.bytes ?? 0, started);
    } catch (err) {
      // A node that fails stops taking bytes; the others go on.
      pipe.destroy();
      const error = await describeFailure(d, err);
      return done(onEvent, label, d.target.node, "failed", [], meters[i]?.bytes ?? 0, started, error);
    }
  });
  const streamed = fanOut(tar, pipes, (i, n) => meters[i]?.add(n)).catch((err: unknown) => err);
  const [streamError, results] = await Promise.all([streamed, Promise.all(imports)]);
  signal?.removeEventListener("abort", stop);
  if (streamError instanceof Error) {
    // The source itself failed: every node that had not already failed lost its input.
    return results.map((r) =>
      r.status === "failed" ? r : { ...r, status: "failed" as const, error: `reading ${label}: ${streamError.message}` },
    );
  }
  return results;
}

/** The failure as the user should read it, after removing what it left tagged on the node. */
async function describeFailure(d: Delivery, err: unknown): Promise<string> {
  const text = message(err);
  let cleanup = "";
  try {
    const removed = await d.target.removeChangedSince(
      d.before,
      d.expect?.map((e) => e.ref),
    );
    if (removed.length > 0) cleanup = ` (removed partial ${removed.join(", ")})`;
  } catch (cleanupErr) {
    cleanup = `; could not check the node for partial images: ${message(cleanupErr)}`;
  }
  // Asked last: by now the engine has caught up with a node that went down mid-stream.
  if (await d.target.stopped()) return `the node stopped during the import (${text})`;
  return text + cleanup;
}

function done(
  onEvent: EventSink,
  source: string,
  node: string,
  status: ImportStatus,
  images: readonly string[],
  bytes: number,
  started: number,
  error?: string,
): PerSource {
  const ms = Date.now() - started;
  onEvent({ type: "import-done", node, source, status, images, bytes, ms, ...(error !== undefined ? { error } : {}) });
  return { node, status, images, bytes, durationMs: ms, ...(error !== undefined ? { error } : {}) };
}

/** Several sources into one node: failed wins, then imported; bytes and times add up. */
function mergeResults(cluster: string, node: string, rs: readonly PerSource[]): NodeImportResult {
  const status: ImportStatus = rs.some((r) => r.status === "failed")
    ? "failed"
    : rs.some((r) => r.status === "imported")
      ? "imported"
      : "skipped";
  const errors = rs.flatMap((r) => (r.error !== undefined ? [r.error] : []));
  return {
    cluster,
    node,
    status,
    images: [...new Set(rs.flatMap((r) => r.images))],
    bytes: rs.reduce((a, r) => a + r.bytes, 0),
    durationMs: rs.reduce((a, r) => a + r.durationMs, 0),
    ...(errors.length > 0 ? { error: errors.join("; ") } : {}),
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
