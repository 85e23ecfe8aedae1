/** JSON requests to a cluster's API as its admin, and the typed errors their failures are. */
import { ConflictError, K3boxError, NotFoundError, UsageError } from "../../base/errors.js";
import { apiRequest, type ApiBody, type ApiMethod, type ClientCredentials } from "../readiness/api.js";

/** One request; the answer's JSON, or undefined when the API answers 404. */
export async function kubeJson<T>(
  creds: ClientCredentials,
  method: ApiMethod,
  path: string,
  signal?: AbortSignal,
  body?: ApiBody,
): Promise<T | undefined> {
  const res = await apiRequest(creds, method, path, signal, body);
  if (res.status === 404) return undefined;
  return answer<T>(method, path, res);
}

/** One request whose every failure, 404 included, is an error. */
export async function kubeCall<T>(
  creds: ClientCredentials,
  method: ApiMethod,
  path: string,
  signal?: AbortSignal,
  body?: ApiBody,
): Promise<T> {
  return answer<T>(method, path, await apiRequest(creds, method, path, signal, body));
}

function answer<T>(method: ApiMethod, path: string, res: { status: number; body: string }): T {
  if (res.status >= 200 && res.status < 300) return JSON.parse(res.body) as T;
  throw statusError(`${method} ${path}`, res.status, res.body);
}

/** A JSON body as the API takes it. */
export function jsonBody(data: unknown, contentType = "application/json"): ApiBody {
  return { contentType, data: JSON.stringify(data) };
}

/**
 * The error an API answer stands for, with the API's own message (a Status object's `message`):
 * 409 is a conflict, 400 and 422 bad input (a manifest the API refuses), anything else an error.
 */
export function statusError(what: string, status: number, body: string): K3boxError {
  let message = body.trim().slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // Not a Status object: the text itself says what went wrong.
  }
  const text = `${what}: ${message} (HTTP ${status})`;
  if (status === 404) return new NotFoundError(text);
  if (status === 409) return new ConflictError(text);
  if (status === 400 || status === 422) return new UsageError(text);
  return new K3boxError(text);
}
