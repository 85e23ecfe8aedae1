// k3box's reaper. A test process that starts clusters holds a TCP connection to it; once every
// connection is gone (the process exited, crashed or was killed), it removes the containers,
// networks and volumes carrying the session's label, then itself. Node's own modules only.
import { request } from "node:http";
import { createServer } from "node:net";

const LABEL = process.env.K3BOX_REAPER_LABEL ?? "";
const SELF = process.env.K3BOX_REAPER_NAME ?? "";
const SOCKET = process.env.K3BOX_REAPER_SOCKET ?? "/var/run/docker.sock";
const PORT = 8080;
// A process that never connects (it died while the reaper started) is waited for this long.
const CONNECT_TIMEOUT_MS = Number(process.env.K3BOX_REAPER_CONNECT_TIMEOUT_MS ?? 60_000);
// After the last connection closes, a new one may still come within this time.
const GRACE_MS = Number(process.env.K3BOX_REAPER_GRACE_MS ?? 1000);

if (!/^[^=]+=[^=]+$/.test(LABEL)) {
  console.error(`k3box reaper: K3BOX_REAPER_LABEL must be KEY=VALUE, got "${LABEL}"`);
  process.exit(2);
}

function log(message) {
  console.log(`${new Date().toISOString()} k3box reaper: ${message}`);
}

/** One call to the engine; resolves with the status and the parsed body. */
function engine(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: SOCKET,
        method,
        path,
        headers: data === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed;
          try {
            parsed = text === "" ? undefined : JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

const filters = encodeURIComponent(JSON.stringify({ label: [LABEL] }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Removes what carries the label; true when nothing was left to remove. */
async function sweep() {
  const containers = (await engine("GET", `/containers/json?all=1&filters=${filters}`)).body ?? [];
  await Promise.all(
    containers.map(async (c) => {
      const res = await engine("DELETE", `/containers/${c.Id}?force=1&v=1`);
      log(`container ${c.Names?.[0] ?? c.Id}: ${res.status < 300 ? "removed" : `HTTP ${res.status}`}`);
    }),
  );
  const networks = (await engine("GET", `/networks?filters=${filters}`)).body ?? [];
  for (const n of networks) {
    // Containers that joined from elsewhere (a shared registry) let go first, as cluster delete does.
    const inspect = (await engine("GET", `/networks/${n.Id}`)).body ?? {};
    for (const id of Object.keys(inspect.Containers ?? {})) {
      await engine("POST", `/networks/${n.Id}/disconnect`, { Container: id, Force: true });
      const left = (await engine("GET", `/containers/${id}/json`)).body;
      if (left?.NetworkSettings && Object.keys(left.NetworkSettings.Networks ?? {}).length === 0) {
        await engine("POST", "/networks/bridge/connect", { Container: id });
      }
    }
    const res = await engine("DELETE", `/networks/${n.Id}`);
    log(`network ${n.Name}: ${res.status < 300 ? "removed" : `HTTP ${res.status}`}`);
  }
  const volumes = (await engine("GET", `/volumes?filters=${filters}`)).body?.Volumes ?? [];
  for (const v of volumes) {
    const res = await engine("DELETE", `/volumes/${encodeURIComponent(v.Name)}?force=1`);
    log(`volume ${v.Name}: ${res.status < 300 ? "removed" : `HTTP ${res.status}`}`);
  }
  return containers.length === 0 && networks.length === 0 && volumes.length === 0;
}

let reaping = false;
async function reap() {
  if (reaping) return;
  reaping = true;
  log(`reaping everything labelled ${LABEL}`);
  // Removals race with the engine's own cleanup (a network still held, a volume still in use): sweep until clean.
  for (let attempt = 0; attempt < 30; attempt++) {
    try {
      if (await sweep()) break;
    } catch (err) {
      log(`sweep failed: ${err.message}`);
    }
    await sleep(1000);
  }
  log("done");
  if (SELF !== "") await engine("DELETE", `/containers/${encodeURIComponent(SELF)}?force=1&v=1`).catch(() => {});
  process.exit(0);
}

let holders = 0;
let timer = setTimeout(reap, CONNECT_TIMEOUT_MS);
const server = createServer((socket) => {
  holders++;
  clearTimeout(timer);
  socket.setKeepAlive(true, 5000);
  socket.on("error", () => {});
  socket.on("close", () => {
    holders--;
    if (holders === 0) timer = setTimeout(reap, GRACE_MS);
  });
  socket.resume();
  // The test process waits for this line: a connection the engine's port proxy accepted is not yet ours.
  socket.write("ACK\n");
});
server.listen(PORT, () => log(`watching ${LABEL} on port ${PORT}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
