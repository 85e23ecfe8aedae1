/** Stand-ins for stdout and stderr that keep what the CLI writes, for tests that run it in-process. */
import { PassThrough } from "node:stream";

export function streams(): {
  streams: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };
  text: () => { stdout: string; stderr: string };
} {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (b: Buffer) => (stdout += b.toString()));
  err.on("data", (b: Buffer) => (stderr += b.toString()));
  return {
    streams: { stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream },
    text: () => ({ stdout, stderr }),
  };
}
