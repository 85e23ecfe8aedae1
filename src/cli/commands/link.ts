import { Command } from "commander";
import { chmod, lstat, realpath, stat, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ConflictError, NotFoundError, UsageError } from "../../index.js";
import type { CliContext } from "../context.js";

export function linkCommand(ctx: CliContext): Command {
  return new Command("link")
    .argument("<name>", "k3d: the only other name k3box answers to")
    .description("Make a link named k3d to k3box, so scripts and tools written for k3d run it unchanged")
    .option("--dir <dir>", "where to put the link (default: the directory this program was run from)")
    .addHelpText(
      "after",
      `
The link is refused where a k3d that is not k3box already is. Run as k3d, k3box speaks k3d's
command line (names k3d-*, k3d's labels, version and JSON output); K3BOX_COMPAT=k3d does the same
without a link.

Examples:
  k3box link k3d
  k3box link k3d --dir ~/.local/bin`,
    )
    .action(async (name: string, flags: { dir?: string }) => {
      if (name !== "k3d") throw new UsageError(`cannot link "${name}": k3box answers only to k3d besides its own name`);
      // The command line being run, wherever the package put it (bundled or not): a link to it named `k3d` makes it speak k3d's.
      const entry = process.argv[1];
      if (entry === undefined) throw new UsageError("cannot tell which program to link to: run k3box by its path");
      const dir = resolve(flags.dir ?? dirname(entry));
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory()) throw new NotFoundError(`directory ${dir} not found`);
      const path = join(dir, name);
      const target = await realpath(entry);
      const existing = await lstat(path).catch(() => undefined);
      if (existing) {
        const same = await realpath(path).then(
          (p) => p === target,
          () => false,
        );
        if (!same) {
          throw new ConflictError(
            `${path} exists and is not k3box (a real k3d?): left alone; remove it yourself or choose another --dir`,
          );
        }
        ctx.err(`${path} already runs k3box`);
      } else {
        await symlink(target, path);
        ctx.err(`Linked ${path} -> ${target}`);
      }
      // A link runs its target directly, which must therefore be executable.
      const mode = (await stat(target)).mode;
      if ((mode & 0o111) !== 0o111) await chmod(target, mode | 0o111);
      ctx.out(`${path}\n`);
    });
}
