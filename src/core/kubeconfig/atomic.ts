/** Replacing a file atomically and durably, through symlinks. */
import { randomBytes } from "node:crypto";
import { type FileHandle, lstat, mkdir, open, readlink, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

const MAX_SYMLINK_HOPS = 40;

/**
 * The file a write to `path` must replace. A rename over a symlink would
 * replace the link itself (people keep ~/.kube/config as a link into their
 * dotfiles), so we follow links, including dangling ones, whose target
 * kubectl would create.
 */
export async function resolveWriteTarget(path: string): Promise<string> {
  let current = resolve(path);
  for (let hop = 0; hop < MAX_SYMLINK_HOPS; hop++) {
    let isLink: boolean;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return current;
      throw err;
    }
    if (!isLink) return current;
    current = resolve(dirname(current), await readlink(current));
  }
  throw Object.assign(new Error(`too many levels of symbolic links: ${path}`), { code: "ELOOP" });
}

/**
 * Writes `text` to `file` (not a symlink) with mode 0600: temp file in the same
 * directory, fsync, rename, fsync of the directory. Readers see the old or the
 * new content, never a torn file, and a crash leaves at most a stray temp file.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const previous = await stat(file).catch(() => undefined);
  const tmp = join(dir, `.${basename(file)}.k3box-${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    try {
      await fh.writeFile(text, "utf8");
      // The umask may have cleared bits of 0600; credentials need exactly it.
      await fh.chmod(0o600);
      if (previous !== undefined) await keepOwner(fh, previous.uid, previous.gid);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

// Run as root (sudo) on a user's kubeconfig, the new file must stay the
// user's; as that user, chown to oneself is a no-op and anything else EPERM.
async function keepOwner(fh: FileHandle, uid: number, gid: number): Promise<void> {
  const mine = await fh.stat();
  if (mine.uid === uid && mine.gid === gid) return;
  await fh.chown(uid, gid).catch(() => undefined);
}

// Makes the rename itself durable; not supported everywhere (Windows), and
// the write already happened, so failures are ignored.
async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // best effort
  }
}
