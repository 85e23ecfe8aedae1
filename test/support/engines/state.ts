/**
 * Where the test engines keep their files, and the record each one leaves so that a later run can
 * remove an engine whose test process died before its teardown.
 */
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Short on purpose: containerd, conmon and sshd put unix sockets below it (108-byte path limit). */
export const STATE_ROOT = "/tmp/k3box-engines";
const RECORD = "owner.json";

export interface NetnsDockerRecord {
  readonly kind: "netns-docker";
  /** The test process that owns the engine; when it is gone, the engine is stale. */
  readonly owner: number;
  readonly dir: string;
  readonly netns: string;
  readonly cgroupParent: string;
}

export interface PodmanRecord {
  readonly kind: "podman";
  readonly owner: number;
  readonly dir: string;
  /** Host folders Podman creates outside its configured roots that did not exist before it started. */
  readonly createdHostDirs: readonly string[];
}

export type EngineRecord = NetnsDockerRecord | PodmanRecord;

export async function writeRecord(record: EngineRecord): Promise<void> {
  await mkdir(record.dir, { recursive: true, mode: 0o700 });
  await writeFile(join(record.dir, RECORD), JSON.stringify(record), { mode: 0o600 });
}

/** Every engine folder under STATE_ROOT, with its record when it has one. */
export async function engineDirs(): Promise<Array<{ dir: string; record: EngineRecord | undefined }>> {
  const names = await readdir(STATE_ROOT).catch(() => [] as string[]);
  return Promise.all(
    names.map(async (name) => {
      const dir = join(STATE_ROOT, name);
      try {
        return { dir, record: JSON.parse(await readFile(join(dir, RECORD), "utf8")) as EngineRecord };
      } catch {
        return { dir, record: undefined };
      }
    }),
  );
}

/** Removes an engine's folder, and the state root with it when no other engine is left. */
export async function removeEngineDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rmdir(STATE_ROOT).catch(() => undefined);
}
