/**
 * Image import: each source is read once and streamed into `ctr images import` on every
 * selected node at the same time; nodes that already hold an engine image are skipped.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Runtime } from "../../runtime/types.js";
import { IMAGE_VOLUME_PATH } from "../dialect.js";
import { imageVolumeName } from "../naming.js";
import { abortError } from "../../base/abort.js";
import { K3boxError, NotFoundError, UsageError } from "../../base/errors.js";
import { ImportFailedError, type ImportResult, type NodeImportResult } from "../images/import-result.js";
import type { EventSink, ImportStatus } from "../events.js";
import { openArchive } from "../images/archive.js";
import { archivedImages } from "../images/contents.js";
import type { Platform, StoredImage } from "../images/containerd.js";
import { fanOut } from "../images/fanout.js";
import { meter } from "../images/progress.js";
import { NodeImages } from "../images/node.js";
import { parseImageReference } from "../images/reference.js";
import { checkFiltersSelect, filterMatches, parseNodeFilters } from "../cluster-spec/filters.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";
import type { NodeStatus } from "../cluster-status.js";
import { observeSpanning } from "./list.js";

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

interface Opened {
  readonly tar: Readable;
  readonly total?: number;
  /** For a source of unknown content: what the tar turned out to hold, once it has been read. */
  readonly scanned?: Promise<readonly KnownImage[] | undefined>;
}

interface Source {
  readonly label: string;
  /** Undefined when only reading the stream can tell (compressed archives, stdin). */
  readonly images?: readonly KnownImage[];
  /** The tar to send, holding at least `needed`; read once. */
  open(needed: readonly KnownImage[]): Promise<Opened>;
  /** Whether `open` can be called again for a new tar (not so for a stream). */
  readonly rereadable: boolean;
  /** Releases what the source holds open if it is never (fully) read. */
  close(): void;
}

/** One node's outcome for one source; `input`: the source's own failure, when that is why the node failed. */
type PerSource = Omit<NodeImportResult, "cluster"> & { readonly input?: Error };

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
  return runOperation("image import", options, (op) => importWith(op, cluster, sources, options.nodes));
}

async function importWith(
  op: Operation,
  cluster: string | readonly string[],
  sources: readonly ImageSource[],
  nodeFilter: string | undefined,
): Promise<ImportResult> {
  const { runtime, dialect, onEvent, signal } = op;
  // Nodes on another engine than the cluster's are reached there; the images still come from this one.
  const runtimeOf = (n: NodeStatus): Runtime => (n.engine !== undefined ? op.openEngine(n.engine) : runtime);
  const clusters = [...new Set(typeof cluster === "string" ? [cluster] : cluster)];
  if (clusters.length === 0) throw new UsageError("no cluster given");
  for (const c of clusters) validateClusterName(c);
  if (sources.length === 0) throw new UsageError("nothing to import: give image names, archive files or -");
  // Nothing here runs inside a node: a bad source or node selection fails before any is touched.
  const [selected, sourcesChecked] = await Promise.allSettled([
    (async () => {
      const nodes = (await Promise.all(clusters.map((c) => selectNodes(op, c, nodeFilter)))).flat();
      // One look per node image and engine.
      const platforms = new Map<string, Promise<Platform>>();
      const platformOf = (n: NodeStatus) => {
        const key = `${n.engine ?? ""}\0${n.image}`;
        if (!platforms.has(key)) platforms.set(key, nodePlatform(runtimeOf(n), n, signal));
        return platforms.get(key) as Promise<Platform>;
      };
      return Promise.all(nodes.map(async (n) => ({ ...n, platform: await platformOf(n) })));
    })(),
    resolveSources(runtime, sources, signal),
  ]);
  if (selected.status === "rejected" || sourcesChecked.status === "rejected") {
    if (sourcesChecked.status === "fulfilled") for (const s of sourcesChecked.value) s.close();
    throw selected.status === "rejected" ? selected.reason : (sourcesChecked as PromiseRejectedResult).reason;
  }
  const nodes = selected.value;
  const resolved = sourcesChecked.value;
  const targets = nodes.map((n) => new NodeImages(runtimeOf(n), n.name, n.platform, signal));
  // The cluster's image volume is on its own engine: nodes elsewhere get their own stream.
  const volumes = new Map(
    targets.flatMap((t, i) =>
      nodes[i]?.engine === undefined ? [[t, imageVolumeName(dialect, nodes[i]?.cluster ?? "")] as const] : [],
    ),
  );

  const results = new Map<string, PerSource[]>(nodes.map((n) => [n.name, []]));
  try {
    for (const source of resolved) {
      for (const r of await importSource(source, targets, volumes, onEvent, signal)) results.get(r.node)?.push(r);
    }
  } finally {
    for (const s of resolved) s.close();
  }
  if (signal.aborted) throw abortError(signal, "image import");
  const merged = nodes.map((n) => mergeResults(n.cluster, n.name, results.get(n.name) ?? []));
  const failures = merged.filter((r) => r.status === "failed").map((r) => ({ node: r.node, error: r.error ?? "failed" }));
  if (failures.length > 0) {
    const lines = failures.map((f) => `  ${f.node}: ${f.error}`);
    // When no node failed on its own account, the input did: the error carries its cause.
    const failed = [...results.values()].flat().filter((r) => r.status === "failed");
    const input = failed.every((r) => r.input !== undefined) ? failed[0]?.input : undefined;
    throw new ImportFailedError(
      `image import failed on ${failures.length} of ${nodes.length} node${nodes.length === 1 ? "" : "s"}:\n${lines.join("\n")}`,
      failures,
      { clusters, nodes: merged },
      input,
    );
  }
  return { clusters, nodes: merged };
}

async function selectNodes(op: Operation, cluster: string, filter: string | undefined) {
  const status = await observeSpanning(op, cluster);
  if (!status) throw new NotFoundError(`cluster "${cluster}" not found`);
  for (const u of status.unreachable ?? []) op.onEvent({ type: "warning", message: `${u.error}: its nodes there get no images` });
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
        const reopen = async () => (await openArchive(createReadStream(s), s)).tar;
        archives.push(archiveSource(s, tar, plain ? await archivedImages(s) : undefined, plain ? size : undefined, reopen));
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
    // Only what some node lacks is saved. The engine answers a save only once it has written the
    // images out (bench/README.md): the nodes' imports start meanwhile, reading this stream, which
    // the save fills once it answers; a failed save fails the stream, as a failed read would.
    open: async (needed) => {
      // Its readers attach once the nodes are ready for it, which a save that fails at once can
      // precede: the error then stays on the stream (`errored`) for them, never unhandled.
      const tar = new PassThrough().on("error", () => {});
      runtime
        .saveImages(
          needed.map((i) => i.familiar ?? i.ref),
          signal,
        )
        .then(
          // Errors reach the readers through `tar`; a `tar` they destroyed stops the save's read.
          (saved) => pipeline(saved, tar).catch(() => {}),
          (err: unknown) => tar.destroy(asError(err)),
        );
      return { tar, total: [...new Map(needed.map((i) => [i.id, i.size ?? 0])).values()].reduce((a, b) => a + b, 0) };
    },
    rereadable: true,
    close: () => {},
  };
  return [...(engine.length > 0 ? [fromEngine] : []), ...archives];
}

/** `first` is the archive opened to check it; `reopen`, for a file, reads it again from the start. */
function archiveSource(
  label: string,
  first: Readable,
  images?: readonly KnownImage[],
  total?: number,
  reopen?: () => Promise<Readable>,
): Source {
  let tar = first;
  let opened = false;
  return {
    label,
    ...(images ? { images } : {}),
    open: async () => {
      if (opened) tar = await (reopen as () => Promise<Readable>)();
      opened = true;
      if (images !== undefined) return { tar, ...(total !== undefined ? { total } : {}) };
      // The tar reader is loaded only for a source it must read: importing engine images does without it.
      const { scanArchive } = await import("../images/scan.js");
      const scan = scanArchive(tar);
      tar = scan.tar;
      return { tar, scanned: scan.images, ...(total !== undefined ? { total } : {}) };
    },
    rereadable: reopen !== undefined,
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
  volumes: ReadonlyMap<NodeImages, string>,
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
  // In the nodes' order, not the order their checks answered in: the first one writes into a
  // shared volume, and which node that is should not depend on timing.
  deliveries.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
  // One stream for all: whatever any node lacks. A node lacking only some images gets the
  // others again, which containerd takes without rewriting content it has.
  const needed = (source.images ?? []).filter((i) => deliveries.some((d) => d.expect?.includes(i)));
  let opened: Opened;
  try {
    opened = await source.open(needed);
  } catch (err) {
    return [...results, ...failedAll(deliveries, source.label, onEvent, Date.now(), asError(err))];
  }
  const run: Run = { label: source.label, total: opened.total, onEvent, signal, needed, scanned: opened.scanned };
  return [...results, ...(await deliverAll(source, opened.tar, deliveries, volumes, run))];
}

/**
 * Delivers one opened tar to every node. When the node writing into the shared volume stops
 * mid-write, only that node failed: the others get the source again, read anew, through another.
 */
async function deliverAll(
  source: Source,
  tar: Readable,
  deliveries: readonly Delivery[],
  volumes: ReadonlyMap<NodeImages, string>,
  run: Run,
  stale?: string,
): Promise<PerSource[]> {
  const shared = await sharedVolume(deliveries, volumes);
  // What the stopped writer left half written goes through a node that still mounts the volume.
  if (stale !== undefined) await (deliveries[0] as Delivery).target.removeFile(stale).catch(() => {});
  if (!shared) return deliver(tar, deliveries, run);
  const written = await deliverThroughVolume(tar, deliveries, run, source.rereadable);
  if (written.writerStopped === undefined) return written.results;
  const [writer, ...rest] = deliveries;
  const lost = done(
    run.onEvent,
    run.label,
    (writer as Delivery).target.node,
    "failed",
    [],
    0,
    written.started,
    await describeFailure(writer as Delivery, written.writerStopped),
  );
  let again: Opened;
  try {
    again = await source.open(run.needed);
  } catch (err) {
    return [lost, ...failedAll(rest, run.label, run.onEvent, written.started, asError(err))];
  }
  return [lost, ...(await deliverAll(source, again.tar, rest, volumes, { ...run, scanned: again.scanned }, written.file))];
}

/**
 * The image volume every delivery's node mounts, when there are several: the engine then copies
 * the stream into one node only, and each node imports the file, where one copy per node
 * through exec stdin costs more than the file's write (bench/README.md).
 */
async function sharedVolume(
  deliveries: readonly Delivery[],
  volumes: ReadonlyMap<NodeImages, string>,
): Promise<string | undefined> {
  const volume = volumes.get(deliveries[0]?.target as NodeImages);
  if (deliveries.length < 2 || volume === undefined) return undefined;
  if (deliveries.some((d) => volumes.get(d.target) !== volume)) return undefined;
  const mounted = await Promise.all(deliveries.map((d) => d.target.mounts(volume).catch(() => false)));
  return mounted.every(Boolean) ? volume : undefined;
}

/** What every delivery of one source shares. */
interface Run {
  readonly label: string;
  readonly total: number | undefined;
  readonly onEvent: EventSink;
  readonly signal: AbortSignal | undefined;
  readonly needed: readonly KnownImage[];
  readonly scanned: Opened["scanned"];
}

/** Streams one tar into every delivery's node at once, then confirms each node, or cleans it up. */
async function deliver(tar: Readable, deliveries: readonly Delivery[], run: Run): Promise<PerSource[]> {
  const { label, total, onEvent, signal } = run;
  const started = Date.now();
  const stop = () => tar.destroy();
  signal?.addEventListener("abort", stop, { once: true });
  const pipes = deliveries.map(() => new PassThrough());
  const meters = deliveries.map((d) => meter(onEvent, d.target.node, total));
  for (const d of deliveries)
    onEvent({ type: "import-start", node: d.target.node, source: label, ...(total !== undefined ? { total } : {}) });
  // Set when the source fails, long before a node reports its input cut off (that waits for the engine).
  let readError: Error | undefined;
  const imports = deliveries.map((d, i) => {
    const pipe = pipes[i] as PassThrough;
    // A node that fails stops taking bytes; the others go on.
    return importInto(
      d,
      pipe,
      run,
      started,
      () => meters[i]?.bytes ?? 0,
      () => pipe.destroy(),
      () => readError,
    );
  });
  const streamed = fanOut(tar, pipes, (i, n) => meters[i]?.add(n)).catch((err: unknown) => {
    readError = asError(err);
  });
  const [, results] = await Promise.all([streamed, Promise.all(imports)]);
  signal?.removeEventListener("abort", stop);
  return readError !== undefined ? sourceFailed(results, label, readError) : results;
}

interface VolumeDelivery {
  readonly results: PerSource[];
  readonly started: number;
  /** The file written into the volume, removed unless the writer stopped before it could. */
  readonly file: string;
  /** Why the write failed, when the writing node stopped and the others are to get the source again: then no results. */
  readonly writerStopped?: unknown;
}

/**
 * Writes the tar once into the shared volume through the first node, then every node imports
 * that file. `rereadable`: whether the others could get the source again if the writer stops.
 */
async function deliverThroughVolume(
  tar: Readable,
  deliveries: readonly Delivery[],
  run: Run,
  rereadable: boolean,
): Promise<VolumeDelivery> {
  const { label, total, onEvent, signal } = run;
  const started = Date.now();
  const writer = (deliveries[0] as Delivery).target;
  const file = `${IMAGE_VOLUME_PATH}/.k3box-import-${randomBytes(6).toString("hex")}.tar`;
  const meters = deliveries.map((d) => meter(onEvent, d.target.node, total));
  for (const d of deliveries)
    onEvent({ type: "import-start", node: d.target.node, source: label, ...(total !== undefined ? { total } : {}) });
  // Counted as the node takes them: a "data" listener would start the flow before the exec reads.
  const counted = new Transform({
    transform(chunk: Buffer, _enc, next) {
      for (const m of meters) m.add(chunk.length);
      next(null, chunk);
    },
  });
  const stop = () => tar.destroy();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    // Whichever failed first is the cause; the other one failed for want of it.
    let first: "read" | "write" | undefined;
    const writing = writer.writeFile(file, counted).catch((err: unknown) => {
      first ??= "write";
      // Nobody takes the bytes any more: stop reading.
      tar.destroy();
      throw err;
    });
    const reading = pipeline(tar, counted).catch((err: unknown) => {
      first ??= "read";
      throw err;
    });
    const [wrote, read] = await Promise.allSettled([writing, reading]);
    if (rereadable && first === "write" && wrote.status === "rejected" && !signal?.aborted && (await writer.stopped())) {
      return { results: [], started, file, writerStopped: wrote.reason };
    }
    if (wrote.status === "rejected" || read.status === "rejected") {
      const input = first === "read" && read.status === "rejected" ? asError(read.reason) : undefined;
      const text = input
        ? readFailure(label, input)
        : `${writer.node}: ${message(wrote.status === "rejected" ? wrote.reason : (read as PromiseRejectedResult).reason)}`;
      const results = deliveries.map((d, i) => ({
        ...done(onEvent, label, d.target.node, "failed", [], meters[i]?.bytes ?? 0, started, text),
        ...(input ? { input } : {}),
      }));
      return { results, started, file };
    }
    const results = await Promise.all(deliveries.map((d, i) => importInto(d, file, run, started, () => meters[i]?.bytes ?? 0)));
    return { results, started, file };
  } finally {
    signal?.removeEventListener("abort", stop);
    await writer.removeFile(file).catch(() => {});
  }
}

/** One node's import of the source, confirmed against the engine's images; a failure is cleaned up and described. */
async function importInto(
  d: Delivery,
  from: Readable | string,
  run: Run,
  started: number,
  bytes: () => number,
  onFailure: () => void = () => {},
  readError: () => Error | undefined = () => undefined,
): Promise<PerSource> {
  const { label, onEvent, needed } = run;
  try {
    // The images asked for are read (and labelled on its own check) by the import's own exec;
    // those only the archive named (known once it has been read) and any it could not read, after it.
    const { images: held, checked } = await d.target.importTar(from, needed);
    const expected = needed.length > 0 ? needed : ((await run.scanned) ?? []);
    if (expected.length === 0) throw new K3boxError("the archive held no named image");
    // The listing can be cut short (output lost with the connection): then ask the node again.
    const again = expected.some((n) => !held.has(n.ref)) ? await d.target.list() : undefined;
    for (const n of expected) {
      const target = (held.get(n.ref) ?? again?.get(n.ref))?.target;
      if (target === undefined) throw new K3boxError(`${n.ref} is not in the node after the import`);
      await d.target.confirm(n.ref, target, n.id, checked.get(n.ref));
    }
    return done(
      onEvent,
      label,
      d.target.node,
      "imported",
      expected.map((n) => n.ref),
      bytes(),
      started,
    );
  } catch (err) {
    onFailure();
    // A source that failed cut every node's input off: that is the failure to report.
    const input = readError();
    const error = await describeFailure(d, input ? new K3boxError(readFailure(label, input)) : err);
    return { ...done(onEvent, label, d.target.node, "failed", [], bytes(), started, error), ...(input ? { input } : {}) };
  }
}

/** The source could not be opened: every delivery failed before any byte was sent. */
function failedAll(
  deliveries: readonly Delivery[],
  label: string,
  onEvent: EventSink,
  started: number,
  input: Error,
): PerSource[] {
  return deliveries.map((d) => ({ ...done(onEvent, label, d.target.node, "failed", [], 0, started, input.message), input }));
}

/** The source itself failed: every node that had not already failed lost its input. */
function sourceFailed(results: readonly PerSource[], label: string, err: Error): PerSource[] {
  return results.map((r) =>
    r.status === "failed" ? r : { ...r, status: "failed" as const, error: readFailure(label, err), input: err },
  );
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
  return asError(err).message;
}

/** k3box's own errors name what failed (`FILE: its gzip data is damaged`); others get the source's label. */
function readFailure(label: string, err: Error): string {
  return err instanceof K3boxError ? err.message : `reading ${label}: ${err.message}`;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
