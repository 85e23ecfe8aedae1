import { abortError } from "../../core/deadline.js";
import { ConflictError, K3boxError, NotFoundError, RuntimeUnavailableError } from "../../core/errors.js";

interface EngineError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

function engineMessage(e: EngineError): string {
  return (e.json?.message ?? e.reason ?? e.message ?? "unknown error").trim();
}

/** Maps a dockerode failure to k3box's backend-neutral errors, keeping the original as `cause`. */
export function mapEngineError(err: unknown, what: string, signal?: AbortSignal): Error {
  if (err instanceof K3boxError) return err;
  if (signal?.aborted) return abortError(signal, what);
  const e = (err ?? {}) as EngineError;
  if (e.code === "ECONNREFUSED" || e.code === "ENOENT" || e.code === "EACCES" || e.code === "ECONNRESET") {
    return new RuntimeUnavailableError(
      `cannot reach the Docker engine (${e.code}${process.env.DOCKER_HOST ? ` at ${process.env.DOCKER_HOST}` : ""}): is it running?`,
      { cause: err },
    );
  }
  const msg = engineMessage(e);
  if (e.statusCode === 404) return new NotFoundError(`${what}: ${msg}`, { cause: err });
  if (e.statusCode === 409) return new ConflictError(`${what}: ${msg}`, { cause: err });
  if (/port is already allocated|address already in use/i.test(msg)) {
    return new ConflictError(`${what}: ${msg}`, { cause: err });
  }
  return new K3boxError(`${what}: ${msg}`, { cause: err });
}
