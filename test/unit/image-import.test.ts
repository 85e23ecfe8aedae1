import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { PassThrough, Readable, Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/base/errors.js";
import { ImportFailedError } from "../../src/core/images/import-result.js";
import { EXIT, exitCodeFor } from "../../src/cli/exit.js";
import { NodeImages } from "../../src/core/images/node.js";
import type { ExecResult, Runtime } from "../../src/runtime/types.js";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCompression, isTar, openArchive } from "../../src/core/images/archive.js";
import { archivedImages } from "../../src/core/images/contents.js";
import { scanArchive } from "../../src/core/images/scan.js";
import {
  configStep,
  importThenCheckArgv,
  labelThenContentArgv,
  parseImageList,
  parseImportOutput,
  platformString,
} from "../../src/core/images/containerd.js";
import { fanOut } from "../../src/core/images/fanout.js";
import { parseImageReference } from "../../src/core/images/reference.js";

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `tar --format=ustar -c hello.txt | zstd -19` (hello.txt: "hello\n"). */
const ZSTD_TAR = Buffer.from(
  "KLUv/WQAJ5UCAILDCxGw6wAUAlJ2mEBCSWTgW4lyCgbetdhvdrY5+8F6k3jnwCPJD4Iut2q5961YSqEUDAD2xeU4QAhBchSA3wxDNQAIfw/mgMHcE8CgAGA3gS5CMM3Z",
  "base64",
);

describe("image names as users type them", () => {
  it.each([
    ["app", "docker.io/library/app:latest", "app:latest"],
    ["app:dev", "docker.io/library/app:dev", "app:dev"],
    ["library/app", "docker.io/library/app:latest", "app:latest"],
    ["docker.io/library/app", "docker.io/library/app:latest", "app:latest"],
    ["docker.io/app:1.0", "docker.io/library/app:1.0", "app:1.0"],
    ["index.docker.io/library/app", "docker.io/library/app:latest", "app:latest"],
    ["me/app:v2", "docker.io/me/app:v2", "me/app:v2"],
    ["library/sub/app", "docker.io/library/sub/app:latest", "library/sub/app:latest"],
    ["localhost/app", "localhost/app:latest", "localhost/app:latest"],
    ["localhost:5000/team/app:x", "localhost:5000/team/app:x", "localhost:5000/team/app:x"],
    ["ghcr.io/o/r:v1.2.3", "ghcr.io/o/r:v1.2.3", "ghcr.io/o/r:v1.2.3"],
    [
      "registry.k3box.local:5000/a__b-c.d:T_1",
      "registry.k3box.local:5000/a__b-c.d:T_1",
      "registry.k3box.local:5000/a__b-c.d:T_1",
    ],
  ])("%s → %s", (input, canonical, familiar) => {
    expect(parseImageReference(input)).toEqual({ canonical, familiar });
  });

  it.each([
    ["", "empty"],
    [" app", "spaces"],
    ["App", '"App" must be lowercase'],
    ["app:", '"" is not a valid tag'],
    ["app:-x", '"-x" is not a valid tag'],
    ["a//b", '"" must be lowercase'],
    ["app@sha256:" + "0".repeat(64), "not by digest"],
    ["my_host:5000/app", "is not a registry host"],
  ])("rejects %j, naming it", (input, why) => {
    expect(() => parseImageReference(input)).toThrow(UsageError);
    expect(() => parseImageReference(input)).toThrow(`invalid image name "${input}"`);
    expect(() => parseImageReference(input)).toThrow(why);
  });
});

describe("archive detection", () => {
  it("recognises a tar and each compression by its first bytes", async () => {
    const plain = await tarOf({ "manifest.json": "[]" });
    expect(isTar(plain)).toBe(true);
    expect(detectCompression(plain)).toBe("none");
    expect(detectCompression(gzipSync(plain))).toBe("gzip");
    expect(detectCompression(ZSTD_TAR)).toBe("zstd");
    expect(detectCompression(Buffer.from("BZh91AY&SY"))).toBe("bzip2");
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00]))).toBe("xz");
    expect(detectCompression(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x64]))).toBe("lz4");
    expect(detectCompression(Buffer.from('{"not": "a tar"}'))).toBeUndefined();
    expect(detectCompression(Buffer.alloc(0))).toBeUndefined();
  });

  it("opens plain, gzip and zstd tars as the same plain tar stream", async () => {
    const plain = await tarOf({ "hello.txt": "hello\n" });
    const fromPlain = await openArchive(Readable.from([plain]), "x.tar");
    expect(fromPlain.compression).toBe("none");
    expect(await readAll(fromPlain.tar)).toEqual(plain);
    // Split into small chunks: the head is gathered across chunks and put back.
    const gz = gzipSync(plain);
    const chunks = Array.from({ length: Math.ceil(gz.length / 7) }, (_, i) => gz.subarray(i * 7, i * 7 + 7));
    const fromGzip = await openArchive(Readable.from(chunks), "x.tar.gz");
    expect(fromGzip.compression).toBe("gzip");
    expect(await readAll(fromGzip.tar)).toEqual(plain);
    const fromZstd = await openArchive(Readable.from([ZSTD_TAR]), "x.tar.zst");
    expect(fromZstd.compression).toBe("zstd");
    const out = await readAll(fromZstd.tar);
    expect(isTar(out)).toBe(true);
    expect(out.toString("latin1", 0, 9)).toBe("hello.txt");
    expect(out.toString("latin1", 512, 518)).toBe("hello\n");
  });

  it("refuses what is not a tar, or compressed in a format it does not read, naming the input", async () => {
    await expect(openArchive(Readable.from([Buffer.from("hello")]), "notes.txt")).rejects.toThrow(
      "notes.txt is not an image archive",
    );
    await expect(openArchive(Readable.from([Buffer.from("BZh91AY&SY")]), "img.tar.bz2")).rejects.toThrow(
      "img.tar.bz2 is compressed with bzip2, which k3box does not read",
    );
    await expect(openArchive(Readable.from([gzipSync(Buffer.from("plain text"))]), "x.gz")).rejects.toThrow(
      "x.gz holds gzip data that is not a tar",
    );
    const damaged = gzipSync(await tarOf({ "a.txt": "a".repeat(2000) })).subarray(0, 30);
    await expect(openArchive(Readable.from([damaged]), "cut.tar.gz")).rejects.toThrow("cut.tar.gz: its gzip data is damaged");
  });

  it("fails the stream with a UsageError naming the input when the damage is further in, and passes a read error on as it is", async () => {
    // Random content does not compress, so the damage sits well past the checked first blocks.
    const gz = gzipSync(await tarOf({ "a.bin": randomBytes(256 * 1024).toString("latin1") }));
    for (let i = 200_000; i < 204_096; i++) gz[i] = (gz[i] as number) ^ 0x5a;
    const damaged = await openArchive(Readable.from([gz.subarray(0, 100_000), gz.subarray(100_000)]), "mid.tar.gz");
    const err = await readAll(damaged.tar).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^mid\.tar\.gz: its gzip data is damaged \(/);
    const failing = new Readable({ read() {} });
    failing.push(gz.subarray(0, 100_000));
    const opened = await openArchive(failing, "disk.tar.gz");
    const reading = readAll(opened.tar);
    failing.destroy(new Error("EIO: i/o error, read"));
    await expect(reading).rejects.toThrow(/^EIO: i\/o error, read$/);
  });

  it("closes the input when the archive is closed unread, plain or compressed", async () => {
    // More than the 512 bytes checked first, compressed too: the input is never ended here.
    const plain = await tarOf({ "a.bin": randomBytes(64 * 1024).toString("latin1") });
    for (const data of [plain, gzipSync(plain)]) {
      const input = new Readable({ read() {} });
      input.push(data);
      const { tar: opened } = await openArchive(input, "open.tar");
      expect(input.destroyed).toBe(false);
      opened.destroy();
      await new Promise((r) => setImmediate(r));
      expect(input.destroyed).toBe(true);
    }
  });
});

describe("ctr output", () => {
  const D1 = `sha256:${"a".repeat(64)}`;
  const D2 = `sha256:${"b".repeat(64)}`;

  it("reads refs, targets and labels from ctr images ls, whose SIZE holds a space", () => {
    const text = [
      "REF                              TYPE                                                 DIGEST  SIZE    PLATFORMS   LABELS ",
      `docker.io/library/busybox:latest application/vnd.docker.distribution.manifest.v2+json ${D1} 2.0 MiB linux/amd64 -      `,
      `docker.io/me/app:dev application/vnd.oci.image.index.v1+json ${D2} 200.1 MiB linux/amd64,linux/arm64 dev.k3box.image.id=${D1},dev.k3box.image.target=${D2}`,
      "",
    ].join("\n");
    expect([...parseImageList(text)]).toEqual([
      ["docker.io/library/busybox:latest", { target: D1, labels: {} }],
      ["docker.io/me/app:dev", { target: D2, labels: { "dev.k3box.image.id": D1, "dev.k3box.image.target": D2 } }],
    ]);
    expect(parseImageList("REF TYPE DIGEST SIZE PLATFORMS LABELS\n").size).toBe(0);
  });

  it("walks from an index to the node platform's manifest, and from a manifest to its config", () => {
    const amd64 = { os: "linux", architecture: "amd64" };
    const index = JSON.stringify({
      manifests: [
        { digest: D1, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { digest: D2, platform: { os: "linux", architecture: "amd64" } },
      ],
    });
    expect(configStep(index, amd64)).toEqual({ next: D2 });
    expect(configStep(index, { os: "linux", architecture: "arm64" })).toEqual({ next: D1 });
    expect(configStep(index, { os: "linux", architecture: "s390x" })).toBeUndefined();
    expect(configStep(JSON.stringify({ config: { digest: D1 }, layers: [] }), amd64)).toEqual({ config: D1 });
    expect(configStep("not json", amd64)).toBeUndefined();
    expect(platformString({ os: "linux", architecture: "arm", variant: "v7" })).toBe("linux/arm/v7");
    expect(platformString(amd64)).toBe("linux/amd64");
  });
});

/** A writable whose consumer takes chunks only when told to, like a busy node. */
class Gate extends Writable {
  received = 0;
  private pending: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 4 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.pending.push(() => {
      this.received += chunk.length;
      done();
    });
  }
  release(): void {
    const p = this.pending;
    this.pending = [];
    for (const f of p) f();
  }
}

class Sink extends Writable {
  received = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.received += chunk.length;
    done();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

/** Busybox, where the machine has it, runs the scripts as rancher/k3s nodes do. */
const busybox = spawnSync("busybox", ["true"]).status === 0;

describe("the scripts k3box runs in a node", () => {
  // A stand-in ctr on PATH: logs each call's words, keeps what an import reads, and answers
  // the way ctr does: LISTED is what `images ls` lists under its header, CONFIG the config digest
  // of every manifest; IMPORT_FAILS and CONTENT_FAILS make those calls fail as ctr reports it.
  const STUB = [
    "#!/bin/sh",
    'for word in "$@"; do printf "[%s]" "$word"; done >> "$LOG"; echo >> "$LOG"',
    'case "$3 $4" in',
    '"images import") cat > "$LOG.stdin"; echo "unpacking something...done"; [ -z "$IMPORT_FAILS" ] || { echo "ctr: unexpected EOF" >&2; exit 1; } ;;',
    '"images ls") echo "REF TYPE DIGEST SIZE PLATFORMS LABELS"; [ -z "$LISTED" ] || printf "%s\\n" "$LISTED" ;;',
    '"images label") echo "$5" ;;',
    // A manifest as containerd writes it: compact JSON, no newline at its end.
    '"content get") [ -z "$CONTENT_FAILS" ] || { echo "ctr: content digest $5: not found" >&2; exit 1; }; printf "{\\"config\\":{\\"mediaType\\":\\"m\\",\\"digest\\":\\"%s\\"},\\"layers\\":[]}" "$CONFIG" ;;',
    "esac",
  ].join("\n");

  /** `shell` runs an `sh` argv: rancher/k3s nodes have busybox's ash, the double Debian's dash. */
  async function inNode(argv: string[], stdin: string, env: Record<string, string> = {}, shell = ["sh"]) {
    const dir = await mkdtemp(join(tmpdir(), "k3box-ctr-"));
    try {
      await writeFile(join(dir, "ctr"), STUB);
      await chmod(join(dir, "ctr"), 0o755);
      const log = join(dir, "log");
      const [cmd, ...args] = argv[0] === "sh" ? [...shell, ...argv.slice(1)] : argv;
      const child = spawn(cmd as string, args, {
        env: { PATH: `${dir}:${process.env.PATH ?? ""}`, LOG: log, ...env },
      });
      child.stdin.end(stdin);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (b: Buffer) => (stdout += b));
      child.stderr.on("data", (b: Buffer) => (stderr += b));
      const exitCode = await new Promise<number | null>((resolve) => child.on("close", resolve));
      const read = (f: string) => readFile(f, "utf8").catch(() => "");
      return { exitCode, stdout, stderr, calls: (await read(log)).split("\n").filter(Boolean), read: await read(`${log}.stdin`) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const D1 = `sha256:${"d".repeat(64)}`;
  const D2 = `sha256:${"e".repeat(64)}`;
  const LISTED = [
    `docker.io/me/app:dev application/vnd.oci.image.manifest.v1+json ${D1} 2.0 MiB linux/amd64 -`,
    `docker.io/me/app:dev2 application/vnd.oci.image.manifest.v1+json ${D2} 2.0 MiB linux/amd64 a=b,c=d`,
  ].join("\n");

  it("imports stdin or a file, then prints only the node's list; every value passes as one word", async () => {
    const streamed = await inNode(importThenCheckArgv("linux/arm/v7", "-", []), "tar bytes");
    expect(streamed).toMatchObject({ exitCode: 0, stdout: "REF TYPE DIGEST SIZE PLATFORMS LABELS\n", read: "tar bytes" });
    expect(streamed.calls).toEqual([
      "[-n][k8s.io][images][import][--no-unpack][--platform][linux/arm/v7][-]",
      "[-n][k8s.io][images][ls]",
    ]);
    const file = await inNode(importThenCheckArgv("linux/amd64", "/k3d/images/a b$(id).tar", []), "");
    expect(file.calls).toEqual([
      "[-n][k8s.io][images][import][--no-unpack][--platform][linux/amd64][/k3d/images/a b$(id).tar]",
      "[-n][k8s.io][images][ls]",
    ]);
  });

  const manifest = (config: string) => `{"config":{"mediaType":"m","digest":"${config}"},"layers":[]}`;
  /** What the script read of each ref, its content without the framing's newlines. */
  const readOf = (stdout: string) =>
    [...parseImportOutput(stdout).checked].map(([ref, r]) => [ref, r.content.trim(), r.labelled] as const);

  const shells = ["sh", ...(busybox ? ["busybox sh"] : [])];
  it.each(shells)(
    "labels a ref whose target is a manifest of the image, and prints each target's content; a ref not listed is left (%s)",
    async (shell) => {
      const id = "sha256:1'; rm -rf / $(id)";
      const checks = [
        { ref: "docker.io/me/app:dev2", id },
        { ref: "docker.io/me/gone:1", id },
        { ref: "docker.io/me/app:dev", id },
      ];
      const r = await inNode(importThenCheckArgv("linux/amd64", "-", checks), "tar", { LISTED, CONFIG: id }, shell.split(" "));
      expect(r.exitCode).toBe(0);
      expect(r.calls).toEqual([
        "[-n][k8s.io][images][import][--no-unpack][--platform][linux/amd64][-]",
        "[-n][k8s.io][images][ls]",
        `[-n][k8s.io][content][get][${D2}]`,
        `[-n][k8s.io][images][label][docker.io/me/app:dev2][dev.k3box.image.id=${id}][dev.k3box.image.target=${D2}]`,
        `[-n][k8s.io][content][get][${D1}]`,
        `[-n][k8s.io][images][label][docker.io/me/app:dev][dev.k3box.image.id=${id}][dev.k3box.image.target=${D1}]`,
      ]);
      const { images } = parseImportOutput(r.stdout);
      expect([...images].map(([ref, i]) => [ref, i.target])).toEqual([
        ["docker.io/me/app:dev", D1],
        ["docker.io/me/app:dev2", D2],
      ]);
      expect(images.get("docker.io/me/app:dev2")?.labels).toEqual({ a: "b", c: "d" });
      expect(readOf(r.stdout)).toEqual([
        ["docker.io/me/app:dev2", manifest(id), true],
        ["docker.io/me/app:dev", manifest(id), true],
      ]);
    },
  );

  it.each(shells)(
    "labels nothing whose content names another image, or that an ID with glob characters would match; a target that is the ID it labels (%s)",
    async (shell) => {
      const other = `sha256:${"9".repeat(64)}`;
      const checks = [
        { ref: "docker.io/me/app:dev2", id: `sha256:${"1".repeat(64)}` },
        { ref: "docker.io/me/app:dev", id: "*" },
      ];
      const r = await inNode(importThenCheckArgv("linux/amd64", "-", checks), "tar", { LISTED, CONFIG: other }, shell.split(" "));
      expect(r.calls.filter((c) => c.includes("[label]"))).toEqual([]);
      expect(readOf(r.stdout)).toEqual([
        ["docker.io/me/app:dev2", manifest(other), false],
        ["docker.io/me/app:dev", manifest(other), false],
      ]);
      const self = await inNode(
        importThenCheckArgv("linux/amd64", "-", [{ ref: "docker.io/me/app:dev", id: D1 }]),
        "tar",
        { LISTED, CONFIG: other },
        shell.split(" "),
      );
      expect(readOf(self.stdout)).toEqual([["docker.io/me/app:dev", manifest(other), true]]);
    },
  );

  it("still succeeds with the list when it cannot read a target, which is then neither labelled nor read", async () => {
    const checks = [{ ref: "docker.io/me/app:dev", id: D2 }];
    const r = await inNode(importThenCheckArgv("linux/amd64", "-", checks), "tar", { LISTED, CONFIG: D2, CONTENT_FAILS: "1" });
    expect(r).toMatchObject({ exitCode: 0, stderr: `ctr: content digest ${D1}: not found\n` });
    expect(r.calls.filter((c) => c.includes("[label]"))).toEqual([]);
    const { images, checked } = parseImportOutput(r.stdout);
    expect(images.get("docker.io/me/app:dev")?.target).toBe(D1);
    expect(checked.size).toBe(0);
  });

  it("lists and checks nothing when the import fails, and keeps ctr's error and exit status", async () => {
    const checks = [{ ref: "docker.io/me/app:dev", id: D2 }];
    const r = await inNode(importThenCheckArgv("linux/amd64", "-", checks), "cut", { LISTED, IMPORT_FAILS: "1" });
    expect(r).toMatchObject({ exitCode: 1, stdout: "", stderr: "ctr: unexpected EOF\n" });
    expect(r.calls).toHaveLength(1);
  });

  it("labels the ref, then prints the content the digest names", async () => {
    const r = await inNode(labelThenContentArgv("docker.io/me/app:dev", { a: "x=y", b: "'; rm -rf /" }, D1), "", {
      CONFIG: D2,
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: manifest(D2) });
    expect(r.calls).toEqual([
      "[-n][k8s.io][images][label][docker.io/me/app:dev][a=x=y][b='; rm -rf /]",
      `[-n][k8s.io][content][get][${D1}]`,
    ]);
  });
});

describe("fan-out", () => {
  it("rejects with the error of a source that failed before it was handed over, destroying every destination", async () => {
    const source = new PassThrough().on("error", () => {});
    source.destroy(new Error("save images app: the image went away"));
    await tick();
    const sinks = [new PassThrough(), new PassThrough()];
    await expect(fanOut(source, sinks)).rejects.toThrow("save images app: the image went away");
    expect(sinks.map((d) => d.destroyed)).toEqual([true, true]);
  });

  it("pauses the source while any destination is full, and delivers every byte to every destination", async () => {
    let produced = 0;
    const CHUNK = 10;
    const TOTAL = 1000;
    const source = new Readable({
      highWaterMark: 10,
      read() {
        if (produced >= TOTAL) return void this.push(null);
        produced += CHUNK;
        this.push(Buffer.alloc(CHUNK, 1));
      },
    });
    const slow = new Gate();
    const fast = new Sink();
    const counted = [0, 0];
    const done = fanOut(source, [slow, fast], (i, n) => (counted[i] = (counted[i] ?? 0) + n));
    for (let i = 0; i < 20; i++) await tick();
    // The slow side took nothing yet: only what fits in the buffers was read from the source.
    expect(slow.received).toBe(0);
    expect(produced).toBeLessThanOrEqual(4 * CHUNK);
    expect(fast.received).toBeLessThanOrEqual(produced);
    while (produced < TOTAL || slow.writableLength > 0 || !slow.writableFinished) {
      slow.release();
      await tick();
      // Never more than a few chunks ahead of the slowest destination.
      expect(produced - slow.received).toBeLessThanOrEqual(5 * CHUNK);
      if (slow.writableFinished) break;
    }
    await done;
    expect(slow.received).toBe(TOTAL);
    expect(fast.received).toBe(TOTAL);
    expect(counted).toEqual([TOTAL, TOTAL]);
  });

  it("drops a destination that fails, and the others still get everything", async () => {
    const source = Readable.from(
      Array.from({ length: 50 }, () => Buffer.alloc(100, 2)),
      { objectMode: false },
    );
    let seen = 0;
    const failing = new Writable({
      write(chunk: Buffer, _enc, cb) {
        seen += chunk.length;
        cb(seen > 1000 ? new Error("node went away") : undefined);
      },
    });
    failing.on("error", () => {});
    const ok = new Sink();
    await fanOut(source, [failing, ok]);
    expect(ok.received).toBe(5000);
    expect(failing.destroyed).toBe(true);
  });

  it("does not hang when a full destination is destroyed: the source resumes for the others", async () => {
    const source = Readable.from(
      Array.from({ length: 100 }, () => Buffer.alloc(10, 3)),
      { objectMode: false },
    );
    const stuck = new Gate();
    const ok = new Sink();
    const done = fanOut(source, [stuck, ok]);
    for (let i = 0; i < 10; i++) await tick();
    stuck.destroy();
    await done;
    expect(ok.received).toBe(1000);
  });

  it("rejects when the source fails, destroying every destination", async () => {
    let n = 0;
    const source = new Readable({
      read() {
        if (++n > 3) this.destroy(new Error("engine stream broke"));
        else this.push(Buffer.alloc(10));
      },
    });
    const a = new Sink();
    const b = new Sink();
    await expect(fanOut(source, [a, b])).rejects.toThrow("engine stream broke");
    expect(a.destroyed && b.destroyed).toBe(true);
  });

  it("destroys the source when every destination is gone", async () => {
    const source = new Readable({ read() {} });
    const a = new Sink();
    const done = fanOut(source, [a]);
    a.destroy();
    await done;
    expect(source.destroyed).toBe(true);
  });
});

/**
 * Only `exec` is used by NodeImages' checks: it answers `ctr content get DIGEST` from a map, and
 * keeps the labels `ctr images label` and the label-then-content script set (an empty value removes).
 */
function fakeNode(blobs: Record<string, unknown>): {
  runtime: Runtime;
  calls: string[][];
  labels: Map<string, Record<string, string>>;
} {
  const calls: string[][] = [];
  const labels = new Map<string, Record<string, string>>();
  const label = (ref: string, pairs: readonly string[]) => {
    const now = { ...labels.get(ref) };
    for (const p of pairs) {
      const [k = "", v = ""] = p.split("=");
      if (v === "") delete now[k];
      else now[k] = v;
    }
    labels.set(ref, now);
  };
  const content = (digest: string): ExecResult => {
    const blob = blobs[digest];
    return blob === undefined
      ? { exitCode: 1, stdout: "", stderr: "ctr: content digest not found" }
      : { exitCode: 0, stdout: JSON.stringify(blob), stderr: "" };
  };
  const exec = async (_name: string, argv: readonly string[]): Promise<ExecResult> => {
    calls.push([...argv]);
    if (argv[0] === "sh") {
      // labelThenContentArgv: sh -c SCRIPT sh NAMESPACE DIGEST REF LABEL...
      const [, , , , , digest = "", ref = "", ...pairs] = argv;
      label(ref, pairs);
      return content(digest);
    }
    if (argv[3] === "images" && argv[4] === "label") {
      label(argv[5] ?? "", argv.slice(6));
      return { exitCode: 0, stdout: "", stderr: "" };
    }
    return argv[3] === "content" && argv[4] === "get" ? content(argv[5] ?? "") : { exitCode: 1, stdout: "", stderr: "?" };
  };
  return { runtime: { exec } as unknown as Runtime, calls, labels };
}

// An engine image's ID (its config digest), and a node's manifest and index for it.
const ID = `sha256:${"1".repeat(64)}`;
const MANIFEST = `sha256:${"2".repeat(64)}`;
const INDEX = `sha256:${"3".repeat(64)}`;
const amd64 = { os: "linux", architecture: "amd64" };
const IMAGE_BLOBS = {
  [INDEX]: { manifests: [{ digest: MANIFEST, platform: { os: "linux", architecture: "amd64" } }] },
  [MANIFEST]: { config: { digest: ID } },
};
/** The labels k3box writes on a ref it checked. */
const checkedLabels = (id: string, target: string) => ({ "dev.k3box.image.id": id, "dev.k3box.image.target": target });

describe("whether a node already holds an engine image", () => {
  it("trusts k3box's labels only while the ref still points at the target they name", async () => {
    const { runtime, calls } = fakeNode({});
    const node = new NodeImages(runtime, "n", amd64);
    expect(await node.holds({ target: MANIFEST, labels: checkedLabels(ID, MANIFEST) }, ID)).toBe(true);
    expect(calls).toEqual([]);
    // Moved to another target since (an import updates the target, not the labels): look at the content.
    expect(await node.holds({ target: INDEX, labels: checkedLabels(ID, MANIFEST) }, ID)).toBe(false);
    expect(calls).toEqual([["ctr", "-n", "k8s.io", "content", "get", INDEX]]);
  });

  it("matches the config digest (classic store IDs), through an index for the node's platform", async () => {
    const { runtime } = fakeNode(IMAGE_BLOBS);
    const node = new NodeImages(runtime, "n", amd64);
    expect(await node.holds({ target: MANIFEST, labels: {} }, ID)).toBe(true);
    expect(await node.holds({ target: INDEX, labels: {} }, ID)).toBe(true);
    expect(await node.holds({ target: INDEX, labels: {} }, `sha256:${"9".repeat(64)}`)).toBe(false);
    expect(
      await new NodeImages(runtime, "n", { os: "linux", architecture: "arm64" }).holds({ target: INDEX, labels: {} }, ID),
    ).toBe(false);
  });

  it("matches the target itself (containerd store IDs), and nothing when the ref is absent or its content is missing", async () => {
    const { runtime } = fakeNode({});
    const node = new NodeImages(runtime, "n", amd64);
    expect(await node.holds({ target: INDEX, labels: {} }, INDEX)).toBe(true);
    expect(await node.holds(undefined, ID)).toBe(false);
    expect(await node.holds({ target: MANIFEST, labels: {} }, ID)).toBe(false);
  });
});

describe("checking and labelling an imported ref", () => {
  const REF = "docker.io/me/app:dev";

  it("labels and reads a manifest target in one exec, an index target in one more", async () => {
    const { runtime, calls, labels } = fakeNode(IMAGE_BLOBS);
    const node = new NodeImages(runtime, "n", amd64);
    await node.confirm(REF, MANIFEST, ID);
    expect(calls.map((c) => c[0])).toEqual(["sh"]);
    expect(labels.get(REF)).toEqual(checkedLabels(ID, MANIFEST));
    calls.length = 0;
    await node.confirm(REF, INDEX, ID);
    expect(calls.map((c) => (c[0] === "sh" ? "sh" : c.slice(3).join(" ")))).toEqual(["sh", `content get ${MANIFEST}`]);
    expect(labels.get(REF)).toEqual(checkedLabels(ID, INDEX));
  });

  it("uses what the import's exec read: labelled by it, no exec; read only, one to label; an index's manifest, one more", async () => {
    const { runtime, calls, labels } = fakeNode(IMAGE_BLOBS);
    const node = new NodeImages(runtime, "n", amd64);
    const read = (digest: string, labelled: boolean) => ({ content: JSON.stringify(IMAGE_BLOBS[digest]), labelled });
    await node.confirm(REF, MANIFEST, ID, read(MANIFEST, true));
    await node.confirm(REF, INDEX, INDEX, read(INDEX, true));
    expect(calls).toEqual([]);
    await node.confirm(REF, MANIFEST, ID, read(MANIFEST, false));
    expect(calls).toEqual([
      ["ctr", "-n", "k8s.io", "images", "label", REF, `dev.k3box.image.id=${ID}`, `dev.k3box.image.target=${MANIFEST}`],
    ]);
    expect(labels.get(REF)).toEqual(checkedLabels(ID, MANIFEST));
    calls.length = 0;
    await node.confirm(REF, INDEX, ID, read(INDEX, false));
    expect(calls.map((c) => c.slice(3, 5).join(" "))).toEqual(["content get", "images label"]);
  });

  it("takes off labels the import's exec wrote for content that is another image, and labels none it did not", async () => {
    const { runtime, calls } = fakeNode({});
    const node = new NodeImages(runtime, "n", amd64);
    const other = JSON.stringify({ config: { digest: `sha256:${"9".repeat(64)}` } });
    const notImage = `${REF} in the node is not image ${ID} after the import`;
    await expect(node.confirm(REF, MANIFEST, ID, { content: other, labelled: true })).rejects.toThrow(notImage);
    expect(calls).toEqual([["ctr", "-n", "k8s.io", "images", "label", REF, "dev.k3box.image.id=", "dev.k3box.image.target="]]);
    calls.length = 0;
    await expect(node.confirm(REF, MANIFEST, ID, { content: other, labelled: false })).rejects.toThrow(notImage);
    expect(calls).toEqual([]);
  });

  it("reads the target again when what the import's exec printed was cut short", async () => {
    const { runtime, calls, labels } = fakeNode(IMAGE_BLOBS);
    await new NodeImages(runtime, "n", amd64).confirm(REF, MANIFEST, ID, { content: '{"config":{"dig', labelled: true });
    expect(calls.map((c) => c[0])).toEqual(["sh"]);
    expect(labels.get(REF)).toEqual(checkedLabels(ID, MANIFEST));
  });

  it("only labels a target that is the image ID itself (the containerd image store)", async () => {
    const { runtime, calls, labels } = fakeNode({});
    await new NodeImages(runtime, "n", amd64).confirm(REF, INDEX, INDEX);
    expect(calls).toEqual([
      ["ctr", "-n", "k8s.io", "images", "label", REF, `dev.k3box.image.id=${INDEX}`, `dev.k3box.image.target=${INDEX}`],
    ]);
    expect(labels.get(REF)).toEqual(checkedLabels(INDEX, INDEX));
  });

  it("takes its labels off again when the ref is another image, or its content is missing", async () => {
    const other = `sha256:${"9".repeat(64)}`;
    const { runtime, labels } = fakeNode({ [MANIFEST]: { config: { digest: other } } });
    const node = new NodeImages(runtime, "n", amd64);
    await expect(node.confirm(REF, MANIFEST, ID)).rejects.toThrow(`${REF} in the node is not image ${ID} after the import`);
    expect(labels.get(REF)).toEqual({});
    await expect(node.confirm(REF, INDEX, ID)).rejects.toThrow(`checking ${REF}: ctr: content digest not found`);
    expect(labels.get(REF)).toEqual({});
  });
});

describe("import failure", () => {
  it("maps to the node-failed exit code", () => {
    expect(exitCodeFor(new ImportFailedError("x", [{ node: "n", error: "e" }]))).toBe(EXIT.nodeFailed);
  });

  it("maps to the usage exit code when every node lost a damaged input, and to node-failed for any other input failure", () => {
    const failures = [{ node: "n", error: "e" }];
    expect(exitCodeFor(new ImportFailedError("x", failures, undefined, new UsageError("a.tar.gz: damaged")))).toBe(EXIT.usage);
    expect(exitCodeFor(new ImportFailedError("x", failures, undefined, new Error("socket hang up")))).toBe(EXIT.nodeFailed);
  });
});

describe("what a plain archive file holds, from its index files", () => {
  const HEX = "d".repeat(64);
  const DIGEST = `sha256:${"e".repeat(64)}`;
  async function withArchive(files: Record<string, string>, check: (path: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "k3box-unit-"));
    try {
      const path = join(dir, "a.tar");
      await writeFile(path, await tarOf(files));
      await check(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("reads Docker's manifest.json: every tag with the config digest, names as containerd writes them", async () => {
    const layer = "x".repeat(3000); // bodies are skipped by their size, not read
    await withArchive(
      {
        [`${HEX}/layer.tar`]: layer,
        [`${HEX}.json`]: "{}",
        "manifest.json": JSON.stringify([
          { Config: `${HEX}.json`, RepoTags: ["app:dev", "me/app:1"], Layers: [`${HEX}/layer.tar`] },
        ]),
      },
      async (path) => {
        expect(await archivedImages(path)).toEqual([
          { ref: "docker.io/library/app:dev", id: `sha256:${HEX}` },
          { ref: "docker.io/me/app:1", id: `sha256:${HEX}` },
        ]);
      },
    );
  });

  it("prefers an OCI index.json, and gives up (send it whole) when an image there has no full name", async () => {
    const index = (annotations: Record<string, string>) => JSON.stringify({ manifests: [{ digest: DIGEST, annotations }] });
    const manifest = JSON.stringify([{ Config: `blobs/sha256/${HEX}`, RepoTags: ["app:dev"] }]);
    await withArchive(
      { "index.json": index({ "io.containerd.image.name": "docker.io/library/app:dev" }), "manifest.json": manifest },
      async (path) => {
        expect(await archivedImages(path)).toEqual([{ ref: "docker.io/library/app:dev", id: DIGEST }]);
      },
    );
    await withArchive(
      { "index.json": index({ "org.opencontainers.image.ref.name": "dev" }), "manifest.json": manifest },
      async (path) => {
        expect(await archivedImages(path)).toBeUndefined();
      },
    );
  });

  it("walks past long names (ustar prefix, pax) and says nothing for archives without index files", async () => {
    const long = `${"p".repeat(120)}/layer.tar`;
    await withArchive(
      {
        [long]: "layer",
        ["q".repeat(150)]: "pax",
        "manifest.json": JSON.stringify([{ Config: `${HEX}.json`, RepoTags: ["app"] }]),
      },
      async (path) => expect(await archivedImages(path)).toEqual([{ ref: "docker.io/library/app:latest", id: `sha256:${HEX}` }]),
    );
    await withArchive({ "hello.txt": "hi" }, async (path) => expect(await archivedImages(path)).toBeUndefined());
  });
});

describe("what an archive read as a stream holds, told as it passes", () => {
  const HEX = "d".repeat(64);
  const manifest = JSON.stringify([{ Config: `${HEX}.json`, RepoTags: ["app:dev"], Layers: [`${HEX}/layer.tar`] }]);

  /** Sends `bytes` in chunks of `size`, as a socket or a decompressor would. */
  const chunked = (bytes: Buffer, size: number) =>
    Readable.from(
      (function* () {
        for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
      })(),
    );

  it("passes the bytes on unchanged and names the images of Docker's and the OCI index files", async () => {
    const docker = await tarOf({ [`${HEX}/layer.tar`]: "x".repeat(70_000), [`${HEX}.json`]: "{}", "manifest.json": manifest });
    const scan = scanArchive(chunked(docker, 4096));
    expect((await readAll(scan.tar)).equals(docker)).toBe(true);
    expect(await scan.images).toEqual([{ ref: "docker.io/library/app:dev", id: `sha256:${HEX}` }]);

    const digest = `sha256:${"e".repeat(64)}`;
    const oci = await tarOf({
      "index.json": JSON.stringify({
        manifests: [{ digest, annotations: { "io.containerd.image.name": "docker.io/me/app:1" } }],
      }),
      "manifest.json": manifest,
    });
    const ociScan = scanArchive(chunked(oci, 1000));
    await readAll(ociScan.tar);
    expect(await ociScan.images).toEqual([{ ref: "docker.io/me/app:1", id: digest }]);
  });

  it("tells nothing, and still passes every byte, for a stream that is not an image archive", async () => {
    for (const bytes of [
      await tarOf({ "hello.txt": "hi" }),
      Buffer.from("not a tar at all".repeat(100)),
      await tarOf({ "manifest.json": "{ broken" }),
    ]) {
      const scan = scanArchive(chunked(bytes, 512));
      expect((await readAll(scan.tar)).equals(bytes)).toBe(true);
      expect(await scan.images).toBeUndefined();
    }
  });

  it("keeps pace with a slow reader of a large file without holding it", async () => {
    const big = randomBytes(4 * 1024 * 1024).toString("latin1");
    const bytes = await tarOf({ [`${HEX}/layer.tar`]: big, "manifest.json": manifest });
    const scan = scanArchive(chunked(bytes, 64 * 1024));
    let read = 0;
    await new Promise<void>((resolve, reject) => {
      scan.tar
        .pipe(
          new Writable({
            highWaterMark: 1024,
            write(chunk: Buffer, _enc, done) {
              read += chunk.length;
              setImmediate(done);
            },
          }),
        )
        .on("finish", resolve)
        .on("error", reject);
    });
    expect(read).toBe(bytes.length);
    expect(await scan.images).toEqual([{ ref: "docker.io/library/app:dev", id: `sha256:${HEX}` }]);
  });

  it("passes the source's error on as it is, and closing the scanned stream closes the source", async () => {
    const damaged = new UsageError("a.tar.gz: its gzip data is damaged");
    const failing = new Readable({ read() {} });
    const scan = scanArchive(failing);
    failing.push(await tarOf({ "a.txt": "a" }));
    failing.destroy(damaged);
    await expect(readAll(scan.tar)).rejects.toBe(damaged);
    expect(await scan.images).toBeUndefined();

    const source = new Readable({ read() {} });
    const closed = scanArchive(source);
    closed.tar.destroy();
    await new Promise((r) => setImmediate(r));
    expect(source.destroyed).toBe(true);
    expect(await closed.images).toBeUndefined();
  });
});
