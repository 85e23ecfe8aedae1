/** A node's containerd as the import sees it: what it holds, streaming into it, removing leftovers. */
import type { Readable } from "node:stream";
import type { Runtime } from "../../runtime/types.js";
import { K3boxError } from "../../base/errors.js";
import {
  IMAGE_LABEL,
  configStep,
  contentArgv,
  type ImportCheck,
  type ReadTarget,
  importThenCheckArgv,
  labelArgv,
  labelThenContentArgv,
  listImagesArgv,
  parseImageList,
  parseImportOutput,
  platformString,
  removeImagesArgv,
  type Platform,
  type StoredImage,
} from "./containerd.js";

export class NodeImages {
  constructor(
    private readonly runtime: Runtime,
    readonly node: string,
    readonly platform: Platform,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Runs `argv` in the node; `what` names it in a failure. `signal` is explicit: cleanup after a
   * cancel must still run, so it passes none.
   */
  private async ctr(
    argv: string[],
    signal: AbortSignal | undefined,
    what = argv.slice(3).join(" "),
    stdin?: Readable,
  ): Promise<string> {
    const r = await this.runtime.exec(this.node, argv, stdin ? { stdin } : {}, signal);
    if (r.exitCode !== 0) throw new K3boxError(`${what}: ${lastLine(r.stderr) || `exit ${r.exitCode}`}`);
    return r.stdout;
  }

  /** Every image in the node by ref. */
  async list(): Promise<Map<string, StoredImage>> {
    return parseImageList(await this.ctr(listImagesArgv(), this.signal));
  }

  /** Whether the stored image is the engine image `id`: from k3box's labels when they still apply, else from its content. */
  async holds(stored: StoredImage | undefined, id: string): Promise<boolean> {
    if (stored === undefined) return false;
    if (stored.labels[IMAGE_LABEL.id] === id && stored.labels[IMAGE_LABEL.target] === stored.target) return true;
    return this.isImage(stored.target, id);
  }

  /**
   * Checks an imported ref against the engine image, and labels it. `read`: its target as the
   * import's exec read it, having labelled it on its own check or not. The labels say "checked",
   * so a check that fails or cannot finish takes them off again (an empty value removes a label):
   * the import's cleanup removes only refs it created or moved, and this one may have pointed at the
   * same target before.
   */
  async confirm(ref: string, target: string, id: string, read?: ReadTarget): Promise<void> {
    const labels = { [IMAGE_LABEL.id]: id, [IMAGE_LABEL.target]: target };
    // Output cut short with the connection is read again, not taken for another image.
    const given = read !== undefined && isJson(read.content) ? read : undefined;
    const label = () => this.ctr(labelArgv(ref, labels), this.signal);
    if (given === undefined && target === id) {
      await label();
      return;
    }
    // Reading the target here labels it in the same exec: the labels go before the check, and come
    // off again if it fails; labels the check did not precede come after it.
    const labelled = given?.labelled ?? true;
    let same = false;
    try {
      const json = given?.content ?? (await this.ctr(labelThenContentArgv(ref, labels, target), this.signal, `checking ${ref}`));
      same = await this.isImage(target, id, json);
    } finally {
      if (!same && labelled) await this.unlabel(ref);
    }
    if (!same) throw notImage(ref, id);
    if (!labelled) await label();
  }

  /**
   * Takes k3box's labels off a ref no completed check backs (an empty value removes a label).
   * Cleanup: it runs after a cancel too, so it does not listen to the operation's signal, and a
   * ref that is gone is no error.
   */
  private async unlabel(ref: string): Promise<void> {
    const none = { [IMAGE_LABEL.id]: "", [IMAGE_LABEL.target]: "" };
    await this.ctr(labelArgv(ref, none), undefined).catch(() => {});
  }

  /**
   * Whether `target` (what the node's ref points at) is the engine image `id`. Engines with
   * the classic store use the config digest as the ID; with the containerd store, the target.
   * `content` is the target's, when already read.
   */
  private async isImage(target: string, id: string, content?: string): Promise<boolean> {
    if (target === id) return true;
    let digest = target;
    let json = content;
    for (let hops = 0; hops < 2; hops++) {
      if (json === undefined) {
        try {
          json = await this.ctr(contentArgv(digest), this.signal);
        } catch (err) {
          if (this.signal?.aborted) throw err;
          return false; // content missing: the image is incomplete, so not present
        }
      }
      const step = configStep(json, this.platform);
      if (step === undefined) return false;
      if ("config" in step) return step.config === id;
      digest = step.next;
      json = undefined;
    }
    return false;
  }

  /**
   * Imports a tar, streamed in or a file in the node, with `ctr images import` for this node's
   * platform, and reads (and, on its own check, labels) the target of each of `checks` in the same
   * exec. Returns every image the node then holds, and each target read, for `confirm`.
   */
  async importTar(
    from: Readable | string,
    checks: readonly ImportCheck[] = [],
  ): Promise<{ images: Map<string, StoredImage>; checked: Map<string, ReadTarget> }> {
    const [file, stdin] = typeof from === "string" ? [from, undefined] : ["-", from];
    const argv = importThenCheckArgv(platformString(this.platform), file, checks);
    return parseImportOutput(await this.ctr(argv, this.signal, "ctr images import", stdin));
  }

  /** Whether the node mounts `volume` (the cluster's image volume, shared by its nodes). */
  async mounts(volume: string): Promise<boolean> {
    const info = await this.runtime.inspectContainer(this.node, this.signal);
    return info?.mounts.some((m) => m.type === "volume" && m.source === volume) ?? false;
  }

  /** Writes a stream to a file in the node. `path` is k3box's own, passed as an argument, never part of the script. */
  async writeFile(path: string, stdin: Readable): Promise<void> {
    const r = await this.runtime.exec(this.node, ["sh", "-c", 'cat > "$1"', "sh", path], { stdin }, this.signal);
    if (r.exitCode !== 0) throw new K3boxError(`writing ${path}: ${lastLine(r.stderr) || `exit ${r.exitCode}`}`);
  }

  /** Removes a file; cleanup runs after a cancel too, so it does not listen to the operation's signal. */
  async removeFile(path: string): Promise<void> {
    await this.runtime.exec(this.node, ["rm", "-f", path]);
  }

  /**
   * Whether the node is gone or no longer running (for the error a failure reports). A node
   * killed mid-stream may still show as running for a moment while execs already fail, so
   * a running node must also answer an exec before it counts as up.
   */
  async stopped(): Promise<boolean> {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const info = await this.runtime.inspectContainer(this.node);
        if (!info?.running) return true;
        if ((await this.runtime.exec(this.node, ["true"])).exitCode === 0) return false;
      } catch {
        // the engine is answering about a container in transition: ask again
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    return false;
  }

  /** Removes refs that appeared or moved since `before`: what a failed import may have left tagged. */
  async removeChangedSince(before: ReadonlyMap<string, StoredImage>, refs?: readonly string[]): Promise<string[]> {
    // Cleanup runs after a cancel too, so it does not listen to the operation's signal.
    const after = parseImageList(await this.ctr(listImagesArgv(), undefined));
    const changed = [...after]
      .filter(([ref, image]) => before.get(ref)?.target !== image.target && (refs === undefined || refs.includes(ref)))
      .map(([ref]) => ref);
    if (changed.length > 0) await this.ctr(removeImagesArgv(changed), undefined);
    return changed;
  }
}

function notImage(ref: string, id: string): K3boxError {
  return new K3boxError(`${ref} in the node is not image ${id} after the import`);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() ?? "";
}
