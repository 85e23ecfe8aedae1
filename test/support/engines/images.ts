/** Copying images between engines: nothing can be pulled here, so test engines are seeded from the local one. */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import type { Readable } from "node:stream";
import { DEFAULT_LOADBALANCER_IMAGE } from "../../../src/core/cluster-spec/defaults.js";

const LB_STANDIN = fileURLToPath(new URL("../../fixtures/loadbalancer-standin/build.mjs", import.meta.url));

/** Images most engine tests need: the k3s double, a tiny workload, the registry. */
export function defaultSeedImages(): string[] {
  return [process.env.K3S_DOUBLE_IMAGE ?? "k3box-test/k3s-double:dev", "busybox:latest", "registry:2"];
}

/**
 * k3box's load balancer image on the local engine: the default cannot be pulled here, so its
 * stand-in is built under its name if it is not there yet (the e2e setup does the same).
 */
export async function loadBalancerImage(): Promise<string> {
  execFileSync(process.execPath, [LB_STANDIN, DEFAULT_LOADBALANCER_IMAGE], { stdio: "inherit" });
  return DEFAULT_LOADBALANCER_IMAGE;
}

function follow(docker: Docker, stream: Readable, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
      const failed = output?.find((o) => o.error);
      if (err) reject(err);
      else if (failed) reject(new Error(`${what}: ${failed.error}`));
      else resolve();
    });
  });
}

/** `docker save` from one engine streamed into the other's load endpoint, all images in one archive. */
export async function copyImages(from: Docker, to: Docker, refs: readonly string[]): Promise<void> {
  if (refs.length === 0) return;
  // GET /images/get?names=…: dockerode has it, its type definitions do not.
  const source = from as unknown as { getImages(o: { names: string[] }): Promise<Readable> };
  const archive = await source.getImages({ names: [...refs] });
  const loaded = (await to.loadImage(archive, { quiet: true })) as Readable;
  await follow(to, loaded, `load ${refs.join(", ")}`);
}

/**
 * The name Docker and a registry pull give a reference without a registry:
 * busybox:latest → docker.io/library/busybox:latest.
 */
export function dockerHubName(ref: string): string {
  const first = ref.split("/")[0] ?? "";
  const hasDomain = ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasDomain) return ref;
  return ref.includes("/") ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

function splitTag(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: "latest" };
}

/**
 * Podman names an image from a `docker save` archive without a registry `localhost/<name>`,
 * where a pull would have named it `docker.io/…`. Renames the loaded images to their pulled
 * names, so the engine holds what a Podman user who pulled them would have.
 */
export async function renameAsPulled(podman: Docker, refs: readonly string[]): Promise<void> {
  for (const ref of refs) {
    const pulled = dockerHubName(ref);
    // Docker saves a Docker Hub image under its short name (nginx:1, not docker.io/library/nginx:1);
    // an image of another registry keeps its name on load.
    const saved = pulled.replace(/^docker\.io\/(library\/)?/, "");
    if (saved === pulled) continue;
    const local = `localhost/${saved}`;
    const { repo, tag } = splitTag(pulled);
    await podman.getImage(local).tag({ repo, tag });
    await podman.getImage(local).remove();
  }
}
