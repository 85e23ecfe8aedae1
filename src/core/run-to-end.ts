/** Throwaway containers that run one script: the host probe and the datastore check. */
import type { ContainerSpec, Runtime } from "../runtime/types.js";

/** Creates and starts the container, follows its output to the end and reads back its exit code; the caller removes it. */
export async function runToEnd(
  runtime: Runtime,
  spec: ContainerSpec,
  signal: AbortSignal,
): Promise<{ lines: string[]; exitCode: number | undefined }> {
  await runtime.createContainer(spec, signal);
  await runtime.startContainer(spec.name, signal);
  const lines: string[] = [];
  // The stream ends when the container's process does.
  for await (const line of runtime.logs(spec.name, { follow: true }, signal)) lines.push(line);
  const info = await runtime.inspectContainer(spec.name, signal);
  return { lines, exitCode: info?.exitCode };
}
