// Benchmark: create + delete of a 1 server + 2 agent cluster on the k3s double,
// k3box against a baseline making the same Docker calls with no k3box logic.
// Prints the medians and the ratio (target: <= 1.15). Usage: npm run bench [-- --runs N]
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { request } from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCluster, deleteCluster } from "../dist/index.js";
import { renderNginxConfig } from "../dist/core/loadbalancer/nginx.js";
import { NODE_ENTRYPOINT_PATH, loadNodeEntrypoint } from "../dist/core/node/entrypoint.js";
import getPort from "get-port";
import tar from "tar-stream";
import { loadBalancerImage } from "./offline.mjs";
import { Readable } from "node:stream";
import { parse } from "yaml";

const IMAGE = process.env.K3S_DOUBLE_IMAGE ?? "k3box-test/k3s-double:dev";
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const docker = new Docker();
const kubeconfigDir = mkdtempSync(join(tmpdir(), "k3box-bench-"));

async function k3boxOnce() {
  const name = `bench-${randomBytes(3).toString("hex")}`;
  const t0 = performance.now();
  await createCluster({ name, agents: 2, image: IMAGE }, { kubeconfigPath: join(kubeconfigDir, "config") });
  await deleteCluster(name, { kubeconfigPath: join(kubeconfigDir, "config") });
  return performance.now() - t0;
}

function waitForLine(container, pattern) {
  return new Promise((resolve, reject) => {
    container.logs({ follow: true, stdout: true, stderr: true }, (err, stream) => {
      if (err) return reject(err);
      let buf = "";
      stream.on("data", (chunk) => {
        buf += chunk.toString("latin1");
        if (pattern.test(buf)) {
          stream.destroy();
          resolve();
        }
      });
    });
  });
}

/** Until the path answers 200 (and, for /readyz, `ok`): k3box's default readiness is /readyz, then the default ServiceAccount. */
async function answers(url, path, creds) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = request(url + path, creds, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(res.statusCode === 200 && (path !== "/readyz" || body === "ok")));
      });
      req.on("error", () => resolve(false));
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

function archive(path, content, mode = 0o644) {
  const pack = tar.pack();
  pack.entry({ name: path, mode }, content);
  pack.finalize();
  return Readable.from(pack);
}

/** The same containers, started in the same order, with the same readiness checks. */
async function baselineOnce(lbImage, entrypoint) {
  const name = `base-${randomBytes(3).toString("hex")}`;
  const net = `k3box-${name}`;
  const server = `${net}-server-0`;
  const agents = [0, 1].map((i) => `${net}-agent-${i}`);
  const lb = `${net}-serverlb`;
  const port = await getPort({ host: "127.0.0.1" });
  const t0 = performance.now();
  await docker.createNetwork({ Name: net, Driver: "bridge" });
  const node = (n, cmd, env) => ({
    name: n,
    Image: IMAGE,
    Hostname: n,
    Entrypoint: [NODE_ENTRYPOINT_PATH],
    Cmd: cmd,
    Env: ["K3S_TOKEN=benchtoken", "K3S_KUBECONFIG_OUTPUT=/output/kubeconfig.yaml", ...env],
    HostConfig: {
      Privileged: true,
      Tmpfs: { "/run": "", "/var/run": "" },
      Mounts: [{ Type: "volume", Source: `${n}-data`, Target: "/var/lib/rancher/k3s" }],
      RestartPolicy: { Name: "unless-stopped" },
      NetworkMode: net,
    },
  });
  await Promise.all([server, ...agents].map((n) => docker.createVolume({ Name: `${n}-data` })));
  // What k3box passes on this engine (see README, Adapting to the engine); on cgroup v1 a 1.35 kubelet needs it.
  const adapted = ["--kubelet-arg=fail-cgroupv1=false", "--kube-proxy-arg=conntrack-max-per-core=0"];
  const containers = await Promise.all([
    docker.createContainer(node(server, ["server", "--tls-san", "127.0.0.1", "--tls-san", lb, ...adapted], [])),
    ...agents.map((a) => docker.createContainer(node(a, ["agent", ...adapted], [`K3S_URL=https://${server}:6443`]))),
    docker.createContainer({
      name: lb,
      Image: lbImage,
      ExposedPorts: { "6443/tcp": {} },
      HostConfig: {
        PortBindings: { "6443/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
        RestartPolicy: { Name: "unless-stopped" },
        NetworkMode: net,
      },
    }),
  ]);
  const [s, a0, a1, l] = containers;
  await Promise.all(
    [s, a0, a1].map((c) => c.putArchive(archive(NODE_ENTRYPOINT_PATH.slice(1), entrypoint, 0o755), { path: "/" })),
  );
  await l.putArchive(archive("etc/nginx/nginx.conf", renderNginxConfig([{ port: 6443, protocol: "tcp", targets: [server] }])), {
    path: "/",
  });
  await s.start();
  await waitForLine(s, /k3s is up and running/i);
  await Promise.all([
    ...[a0, a1].map(async (a) => {
      await a.start();
      await waitForLine(a, /Successfully registered node/i);
    }),
    (async () => {
      await l.start();
      await waitForLine(l, /start worker processes/);
    })(),
  ]);
  const archiveStream = await s.getArchive({ path: "/output/kubeconfig.yaml" });
  const raw = await new Promise((resolve, reject) => {
    const ex = tar.extract();
    ex.on("entry", (_h, body, next) => {
      let t = "";
      body.on("data", (c) => (t += c));
      body.on("end", () => {
        resolve(t);
        next();
      });
    });
    ex.on("error", reject);
    archiveStream.pipe(ex);
  });
  const cfg = parse(raw);
  const b64 = (v) => Buffer.from(v, "base64");
  const creds = {
    ca: b64(cfg.clusters[0].cluster["certificate-authority-data"]),
    cert: b64(cfg.users[0].user["client-certificate-data"]),
    key: b64(cfg.users[0].user["client-key-data"]),
  };
  await answers(`https://127.0.0.1:${port}`, "/readyz", creds);
  await answers(`https://127.0.0.1:${port}`, "/api/v1/namespaces/default/serviceaccounts/default", creds);
  await Promise.all(containers.map((c) => c.remove({ force: true, v: true })));
  await docker.getNetwork(net).remove();
  await Promise.all([server, ...agents].map((n) => docker.getVolume(`${n}-data`).remove()));
  return performance.now() - t0;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const lbImage = loadBalancerImage();
const entrypoint = await loadNodeEntrypoint();
// Warm-up: warms the engine's caches for both.
await k3boxOnce();
await baselineOnce(lbImage, entrypoint);
const k3box = [];
const baseline = [];
for (let i = 0; i < RUNS; i++) {
  baseline.push(await baselineOnce(lbImage, entrypoint));
  k3box.push(await k3boxOnce());
}
rmSync(kubeconfigDir, { recursive: true, force: true });
const mk = median(k3box);
const mb = median(baseline);
console.log(`create+delete, 1 server + 2 agents, k3s double, ${RUNS} runs each`);
console.log(
  `  baseline (raw Docker calls): median ${(mb / 1000).toFixed(2)} s  [${baseline.map((x) => (x / 1000).toFixed(2)).join(", ")}]`,
);
console.log(
  `  k3box:                       median ${(mk / 1000).toFixed(2)} s  [${k3box.map((x) => (x / 1000).toFixed(2)).join(", ")}]`,
);
console.log(`  ratio k3box / baseline: ${(mk / mb).toFixed(3)} (target <= 1.15)`);
