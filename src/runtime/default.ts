/**
 * The engine k3box uses when its caller names none: the one the entry point chose (`--engine`),
 * else as K3BOX_ENGINE, DOCKER_HOST and the Docker contexts say (docker/endpoint.ts). One client
 * per engine for the whole process, so an ssh connection is made once. The Docker adapter is
 * loaded on the first call: a caller that only chooses the engine (the CLI at start-up) does not
 * load it, nor the Node modules it uses (net, crypto, streams).
 */
import type { EngineChoice } from "./docker/endpoint.js";
import type { DockerRuntime } from "./docker/runtime.js";

let chosen: EngineChoice | undefined;
const runtimes = new Map<string, DockerRuntime>();

/** What decides the engine besides an explicit choice. */
const ENGINE_ENV = [
  "K3BOX_ENGINE",
  "DOCKER_HOST",
  "DOCKER_CONTEXT",
  "DOCKER_CONFIG",
  "HOME",
  "DOCKER_TLS_VERIFY",
  "DOCKER_TLS",
  "DOCKER_CERT_PATH",
];

/** Sets the engine of every later call that names none (the CLI's `--engine`); undefined goes back to the environment's. */
export function chooseEngine(choice: EngineChoice | undefined): void {
  chosen = choice;
}

type Adapter = typeof DockerRuntime;

async function adapter(): Promise<Adapter> {
  return (await import("./docker/runtime.js")).DockerRuntime;
}

function runtimeFor(Runtime: Adapter, choice: EngineChoice | undefined): DockerRuntime {
  const key = JSON.stringify([choice?.value, ...ENGINE_ENV.map((k) => process.env[k])]);
  let runtime = runtimes.get(key);
  if (runtime === undefined) {
    runtime = new Runtime(choice ? { engine: choice } : {});
    runtimes.set(key, runtime);
  }
  return runtime;
}

export async function defaultRuntime(): Promise<DockerRuntime> {
  return runtimeFor(await adapter(), chosen);
}

/** Opens engines by the names k3box records for them (an address or a Docker context's name). */
export async function engineOpener(): Promise<(name: string) => DockerRuntime> {
  const Runtime = await adapter();
  return (name) => runtimeFor(Runtime, { value: name, from: "the cluster's record of its engines" });
}
