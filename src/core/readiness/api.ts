/** The cluster's API as k3box reaches it: one request with the admin certificate, and waiting for /readyz. */
import { request } from "node:https";
import { abortError, sleep } from "../../base/abort.js";
import { K3boxError, TimeoutError } from "../../base/errors.js";

export interface ClientCredentials {
  readonly server: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** One GET with the admin certificate; resolves with status and body. */
export function apiGet(creds: ClientCredentials, path: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  return apiRequest(creds, "GET", path, signal);
}

export type ApiMethod = "GET" | "DELETE" | "POST" | "PUT" | "PATCH";

/** A request body and its media type (`application/json`, `application/apply-patch+yaml` for server-side apply...). */
export interface ApiBody {
  readonly contentType: string;
  readonly data: string;
}

/** One request with the admin certificate; resolves with status and body. */
export function apiRequest(
  creds: ClientCredentials,
  method: ApiMethod,
  path: string,
  signal?: AbortSignal,
  body?: ApiBody,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, creds.server);
    const headers: Record<string, string> = { accept: "application/json" };
    if (body) {
      headers["content-type"] = body.contentType;
      headers["content-length"] = String(Buffer.byteLength(body.data));
    }
    const req = request(
      url,
      { method, headers, ca: creds.ca, cert: creds.cert, key: creds.key, timeout: 5000, ...(signal ? { signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new K3boxError(`${method} ${url.href}: no answer within 5s`)));
    req.on("error", reject);
    req.end(body?.data);
  });
}

/** One GET of a JSON object; undefined when the API answers 404. */
export async function apiGetJson<T>(creds: ClientCredentials, path: string, signal?: AbortSignal): Promise<T | undefined> {
  const res = await apiGet(creds, path, signal);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new K3boxError(`HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`);
  return JSON.parse(res.body) as T;
}

/**
 * Asks `check` until it answers undefined (done); any other answer says why not yet and is kept
 * for the error if the deadline passes first. A check that throws counts as not yet.
 */
export async function pollUntil(
  what: string,
  check: () => Promise<string | undefined>,
  signal: AbortSignal,
  intervalMs = 300,
): Promise<void> {
  let last = "no answer yet";
  for (;;) {
    try {
      const notYet = await check();
      if (notYet === undefined) return;
      last = notYet;
    } catch (err) {
      if (signal.aborted) break;
      last = (err as Error).message;
    }
    try {
      await sleep(intervalMs, signal);
    } catch {
      break;
    }
  }
  const reason = abortError(signal, `waiting for ${what}`);
  if (reason instanceof TimeoutError) {
    throw new TimeoutError(`${reason.message} waiting for ${what} (last answer: ${last})`, { cause: reason });
  }
  throw reason;
}

/** How many answers in a row /readyz must give: one `ok` can come in a gap between crashes. */
const READYZ_IN_A_ROW = 3;

/** Polls /readyz through the given server URL until it answers `ok` several times in a row. */
export async function waitForApi(creds: ClientCredentials, signal: AbortSignal): Promise<void> {
  let inARow = 0;
  await pollUntil(
    `the API at ${creds.server}/readyz`,
    async () => {
      const res = await apiGet(creds, "/readyz", signal).catch((err: unknown) => {
        inARow = 0;
        throw err;
      });
      if (res.status === 200 && res.body.trim() === "ok") {
        inARow++;
        return inARow >= READYZ_IN_A_ROW ? undefined : `ok ${inARow} time${inARow === 1 ? "" : "s"} in a row`;
      }
      inARow = 0;
      return `HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`;
    },
    signal,
    200,
  );
}
