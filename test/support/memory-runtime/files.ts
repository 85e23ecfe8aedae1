/**
 * Filesystems in memory: a tree per container, per volume, and one for the host (bind mount
 * sources). Writes follow what Docker's archive extraction does with `putArchive`.
 */
import { K3boxError } from "../../../src/base/errors.js";
import type { FileEntry } from "../../../src/runtime/types.js";
import { engineError } from "./failure.js";

export interface FileNode {
  readonly type: "file" | "dir";
  readonly content: Buffer;
  readonly mode: number;
}

const EMPTY = Buffer.alloc(0);
const ROOT: FileNode = { type: "dir", content: EMPTY, mode: 0o755 };

/** `/a/./b//c/` → `a/b/c`; the root is "". Relative paths count from the root, as Docker's archive calls do. */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

export class FileTree {
  private readonly nodes = new Map<string, FileNode>();

  get(path: string): FileNode | undefined {
    return path === "" ? ROOT : this.nodes.get(path);
  }

  /** Whether some parent of `path` is a file. */
  fileAbove(path: string): boolean {
    for (let p = parentOf(path); p !== ""; p = parentOf(p)) if (this.nodes.get(p)?.type === "file") return true;
    return false;
  }

  /**
   * Puts a file or directory at `path` (normalized). Missing parents become 0755 directories; a
   * directory put over a directory keeps what it holds and takes the new mode; anything else
   * replaces what was there, a whole directory included.
   */
  put(path: string, node: FileNode): void {
    const missing: string[] = [];
    for (let p = parentOf(path); p !== ""; p = parentOf(p)) {
      const existing = this.nodes.get(p);
      if (existing?.type === "file") throw engineError(500, `mkdir /${p}: not a directory`);
      if (existing === undefined) missing.push(p);
    }
    for (const p of missing) this.nodes.set(p, { type: "dir", content: EMPTY, mode: 0o755 });
    const existing = this.nodes.get(path);
    if (existing && !(existing.type === "dir" && node.type === "dir")) this.remove(path);
    this.nodes.set(path, node);
  }

  /** Removes `path` and everything under it. */
  remove(path: string): void {
    if (path === "") {
      this.nodes.clear();
      return;
    }
    this.nodes.delete(path);
    for (const p of [...this.nodes.keys()]) if (p.startsWith(`${path}/`)) this.nodes.delete(p);
  }
}

/** Where a mount puts another tree into a container's filesystem. */
export interface MountedTree {
  /** The mount point, normalized. */
  readonly target: string;
  readonly tree: FileTree;
  /** Where in `tree` the mount point leads (a bind's source; "" for a volume). */
  readonly base: string;
  readonly readOnly: boolean;
}

/** A container's filesystem as a process in it sees it: its own tree, with volumes and binds mounted over it. */
export class ContainerFiles {
  constructor(
    private readonly container: () => string,
    private readonly root: FileTree,
    private readonly mounts: readonly MountedTree[],
  ) {}

  private resolve(path: string): { tree: FileTree; path: string; mount?: MountedTree } {
    let best: MountedTree | undefined;
    for (const m of this.mounts) {
      const inside = path === m.target || path.startsWith(`${m.target}/`);
      if (inside && (best === undefined || m.target.length > best.target.length)) best = m;
    }
    if (best === undefined) return { tree: this.root, path };
    const rest = path.slice(best.target.length).replace(/^\//, "");
    return { tree: best.tree, path: [best.base, rest].filter(Boolean).join("/"), mount: best };
  }

  /** One entry of a `putFiles` call; a path ending in "/" is a directory. */
  write(entry: FileEntry): void {
    const path = normalizePath(entry.path);
    const dir = entry.path.endsWith("/");
    if (path === "") {
      if (dir) return;
      throw engineError(500, "cannot overwrite the root directory with a file");
    }
    const at = this.resolve(path);
    if (at.mount?.readOnly) throw engineError(500, `open /${path}: read-only file system`);
    if (at.mount && at.mount.target === path) {
      if (dir) return;
      throw engineError(500, `unlinkat /${path}: device or resource busy`);
    }
    const content = dir
      ? Buffer.alloc(0)
      : typeof entry.content === "string"
        ? Buffer.from(entry.content)
        : Buffer.from(entry.content);
    at.tree.put(at.path, { type: dir ? "dir" : "file", content, mode: (entry.mode ?? (dir ? 0o755 : 0o644)) & 0o7777 });
  }

  /** A regular file's content and mode; a missing path is a 404, as `getArchive` answers. */
  read(path: string): { content: Buffer; mode: number } {
    const normalized = normalizePath(path);
    const at = this.resolve(normalized);
    const node = at.tree.get(at.path);
    if (node === undefined) {
      // Under a file there is no "missing": the engine fails to look (ENOTDIR), a 500.
      if (at.tree.fileAbove(at.path)) throw engineError(500, `lstat /${normalized}: not a directory`);
      throw engineError(404, `Could not find the file ${path} in container ${this.container()}`);
    }
    if (node.type === "file" && path.endsWith("/")) throw engineError(500, `lstat /${normalized}/: not a directory`);
    if (node.type !== "file") throw new K3boxError(`${this.container()}:${path} is not a regular file`);
    return { content: Buffer.from(node.content), mode: node.mode };
  }

  /** Removes a path and what it holds, as `rm -rf` would; for scripted commands. */
  remove(path: string): void {
    const at = this.resolve(normalizePath(path));
    at.tree.remove(at.path);
  }

  exists(path: string): boolean {
    const at = this.resolve(normalizePath(path));
    return at.tree.get(at.path) !== undefined;
  }
}
