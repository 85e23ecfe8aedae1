/** The engine's image store, and a registry that pulls come from. */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { parseImageReference } from "../../../src/core/images/reference.js";
import type { FileEntry, ImageBuild, ImageInfo, Labels, PullProgress } from "../../../src/runtime/types.js";
import { interpretDockerfile } from "./dockerfile.js";
import { engineError } from "./failure.js";

/** What a container created from the image starts with, as `docker inspect` of an image shows it. */
export interface ImageConfig {
  readonly env?: Readonly<Record<string, string>>;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** Copied onto every container created from the image, as Docker does. */
  readonly labels?: Labels;
  /** Paths declared with VOLUME: each container gets an anonymous volume there. */
  readonly volumes?: readonly string[];
  /** Files every container of the image starts with. */
  readonly files?: readonly FileEntry[];
  readonly os?: string;
  readonly architecture?: string;
  readonly size?: number;
}

export interface ImageRecord {
  readonly id: string;
  readonly config: ImageConfig;
}

/** What a `buildImage` call was given, for tests to look at. */
export interface BuildRecord {
  readonly tag: string;
  readonly id: string;
  readonly build: ImageBuild;
}

/**
 * Names as Docker stores them (`busybox` → `busybox:latest`, `docker.io/library/busybox` likewise).
 * A name Docker would refuse is a 400, as its "invalid reference format".
 */
export function storedName(ref: string): string {
  if (/^sha256:[0-9a-f]{64}$/.test(ref) || ref.includes("@")) return ref;
  try {
    return parseImageReference(ref).familiar;
  } catch (err) {
    throw engineError(400, `invalid reference format: ${(err as Error).message}`);
  }
}

function imageId(content: unknown): string {
  return `sha256:${createHash("sha256").update(JSON.stringify(content)).digest("hex")}`;
}

export class ImageStore {
  /** Local images by tag. */
  private readonly local = new Map<string, ImageRecord>();
  /** What the registry would serve, by tag. */
  private readonly remote = new Map<string, ImageRecord>();
  readonly builds: BuildRecord[] = [];

  seed(ref: string, config: ImageConfig = {}, where: "local" | "remote" = "local"): void {
    const name = storedName(ref);
    (where === "local" ? this.local : this.remote).set(name, { id: imageId({ name, config }), config });
  }

  /** Untags; the Runtime has no call for it, so only tests do. */
  remove(ref: string): void {
    this.local.delete(storedName(ref));
  }

  find(ref: string): ImageRecord | undefined {
    const name = storedName(ref);
    return this.local.get(name) ?? [...this.local.values()].find((i) => i.id === name);
  }

  tags(): string[] {
    return [...this.local.keys()].sort();
  }

  inspect(ref: string): ImageInfo | undefined {
    const image = this.find(ref);
    if (image === undefined) return undefined;
    return {
      id: image.id,
      tags: [...this.local].filter(([, i]) => i.id === image.id).map(([t]) => t),
      os: image.config.os ?? "linux",
      architecture: image.config.architecture ?? "amd64",
      size: image.config.size ?? 1 << 20,
    };
  }

  pull(ref: string, onProgress?: (p: PullProgress) => void): void {
    const name = storedName(ref);
    const image = this.remote.get(name);
    if (image === undefined) throw engineError(404, `manifest for ${name} not found: manifest unknown: manifest unknown`);
    const upToDate = this.local.get(name)?.id === image.id;
    const repo = name.slice(0, name.lastIndexOf(":"));
    for (const status of [
      `Pulling from ${repo}`,
      `Digest: ${image.id}`,
      upToDate ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}`,
    ]) {
      onProgress?.({ image: ref, status });
    }
    this.local.set(name, image);
  }

  /** Builds from the Dockerfile's FROM, ARG and configuration lines; RUN and COPY change nothing here. */
  build(build: ImageBuild, onLine?: (line: string) => void): void {
    const dockerfile = build.context.find((f) => f.path.replace(/^\.?\//, "") === "Dockerfile");
    if (dockerfile === undefined) throw engineError(500, "Cannot locate specified Dockerfile: Dockerfile");
    const steps = interpretDockerfile(dockerfile.content.toString(), build.buildArgs ?? {});
    const base = this.find(steps.from);
    if (base === undefined) {
      throw engineError(500, `pull access denied for ${steps.from}, repository does not exist or may require 'docker login'`);
    }
    steps.lines.forEach((line, i) => onLine?.(`Step ${i + 1}/${steps.lines.length} : ${line}`));
    const config: ImageConfig = {
      ...base.config,
      ...steps.config,
      env: { ...base.config.env, ...steps.config.env },
      labels: { ...base.config.labels, ...steps.config.labels, ...build.labels },
      volumes: [...(base.config.volumes ?? []), ...(steps.config.volumes ?? [])],
    };
    const id = imageId({
      base: base.id,
      steps: steps.lines,
      labels: build.labels,
      context: build.context.map((f) => [f.path, f.mode, f.content.toString("base64")]),
    });
    this.local.set(storedName(build.tag), { id, config });
    this.builds.push({ tag: build.tag, id, build });
    onLine?.(`Successfully built ${id.slice(7, 19)}`);
    onLine?.(`Successfully tagged ${build.tag}`);
  }

  /** A `docker save` archive: each image's config and a manifest.json naming the tags asked for. */
  save(refs: readonly string[]): Readable {
    const images = refs.map((ref) => {
      const image = this.find(ref);
      if (image === undefined) throw engineError(404, "reference does not exist");
      return { ref: storedName(ref), image };
    });
    const pack = tar.pack();
    const manifest = new Map<string, { Config: string; RepoTags: string[]; Layers: string[] }>();
    for (const { ref, image } of images) {
      const config = `${image.id.slice(7)}.json`;
      const entry = manifest.get(image.id) ?? { Config: config, RepoTags: [], Layers: [] };
      if (!manifest.has(image.id)) {
        manifest.set(image.id, entry);
        const c = image.config;
        pack.entry(
          { name: config },
          JSON.stringify({
            os: c.os ?? "linux",
            architecture: c.architecture ?? "amd64",
            config: {
              Env: Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`),
              Cmd: c.cmd ?? null,
              Entrypoint: c.entrypoint ?? null,
              Labels: c.labels ?? null,
            },
          }),
        );
      }
      if (!ref.startsWith("sha256:")) entry.RepoTags.push(ref);
    }
    pack.entry({ name: "manifest.json" }, JSON.stringify([...manifest.values()]));
    pack.finalize();
    return Readable.from(pack as AsyncIterable<Buffer>);
  }
}
