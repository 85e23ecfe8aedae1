import { abortError } from "../../base/abort.js";
import { ConflictError, K3boxError, NotFoundError, RuntimeUnavailableError } from "../../base/errors.js";

interface EngineError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

/** Socket errors that mean the engine's address leads nowhere. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

function engineMessage(e: EngineError): string {
  // dockerode leaves `json` empty for some answers (pulls); its message then carries the engine's text.
  const detail = e.message?.replace(/^\(HTTP code \d+\) [^-]*- /, "");
  return (e.json?.message ?? (detail || undefined) ?? e.reason ?? "unknown error").trim();
}

/**
 * Maps a dockerode failure to k3box's backend-neutral errors, keeping the original as `cause`;
 * `engine` names the engine in the message when it cannot be reached.
 */
export function mapEngineError(err: unknown, what: string, signal?: AbortSignal, engine?: string): Error {
  if (err instanceof K3boxError) return err;
  if (signal?.aborted) return abortError(signal, what);
  const e = (err ?? {}) as EngineError;
  if (e.code !== undefined && UNREACHABLE.has(e.code)) {
    return new RuntimeUnavailableError(
      `cannot reach the Docker engine (${e.code}${engine ? ` at ${engine}` : ""}): is it running?`,
      {
        cause: err,
      },
    );
  }
  const msg = engineMessage(e);
  if (e.statusCode === 404) return new NotFoundError(`${what}: ${msg}`, { cause: err });
  if (e.statusCode === 409) return new ConflictError(`${what}: ${msg}`, { cause: err });
  // Podman answers a name in use with 500 and says so in words.
  if (/port is already allocated|address already in use|network already exists|is already in use by container/i.test(msg)) {
    return new ConflictError(`${what}: ${msg}`, { cause: err });
  }
  return new K3boxError(`${what}: ${msg}`, { cause: err });
}

/** What the engine says when an image does not exist where its name points, or that place does not. */
const IMAGE_MISSING =
  /manifest unknown|not found|does not exist|pull access denied|repository name not known|no such host|name or service not known/i;

/** A pull's failure: an image that is not there and cannot be pulled is "not found", as for any other missing thing. */
export function mapPullError(err: unknown, what: string, signal?: AbortSignal, engine?: string): Error {
  const mapped = mapEngineError(err, what, signal, engine);
  if (mapped instanceof K3boxError && mapped.name === "K3boxError" && IMAGE_MISSING.test(mapped.message)) {
    return new NotFoundError(mapped.message, { cause: err });
  }
  return mapped;
}
