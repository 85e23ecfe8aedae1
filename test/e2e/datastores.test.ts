/**
 * Datastores on the Docker engine: 2 servers + 1 agent on a PostgreSQL and on a MariaDB k3box
 * runs (the test images of test/fixtures/datastores under this run's own tags), an external etcd
 * the test runs itself, and what must fail before any node starts.
 */
import { once } from "node:events";
import { connect } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, docker, dockerJson, leftovers, Sandbox, uniqueName, type RunResult } from "./helpers.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/datastores/", import.meta.url));
/** This run's tag of the double is this run's tag of the database images too, so parallel checkouts do not share them. */
const TAG = DOUBLE_IMAGE.split(":").at(-1) ?? "dev";
const PASSWORD_FILE = "/etc/k3box/datastore-password";

async function buildImage(name: "postgres" | "mariadb" | "etcd"): Promise<string> {
  const tag = `k3box-test/${name}:${TAG}`;
  const r = await docker(["build", "-q", "-t", tag, join(FIXTURES, name)]);
  if (r.code !== 0) throw new Error(`building ${tag}: ${r.stderr}`);
  return tag;
}

interface Inspected {
  Name: string;
  Config: { Cmd: string[] | null; Entrypoint: string[] | null; Env: string[] | null; Labels: Record<string, string> };
  Args: string[];
  Path: string;
  State: { Status: string; StartedAt: string; FinishedAt: string };
  HostConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null };
  NetworkSettings: { Networks: Record<string, unknown> };
}

async function inspectCluster(cluster: string): Promise<Inspected[]> {
  const ids = await docker(["ps", "-a", "-q", "--filter", `label=dev.k3box.cluster=${cluster}`]);
  const list = ids.stdout.split("\n").filter(Boolean);
  return list.length === 0 ? [] : dockerJson<Inspected[]>(["inspect", ...list]);
}

async function exec(container: string, argv: readonly string[]): Promise<string> {
  const r = await docker(["exec", container, ...argv]);
  if (r.code !== 0) throw new Error(`docker exec ${container} ${argv[0]}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The Nodes one server itself answers with, asked in its container with its own admin kubeconfig. */
const NODES_OF_SELF = `
const fs = require("node:fs"), https = require("node:https");
const kc = fs.readFileSync("/etc/rancher/k3s/k3s.yaml", "utf8");
const field = (k) => Buffer.from(new RegExp(k + ": (\\\\S+)").exec(kc)[1], "base64");
https.get({ host: "127.0.0.1", port: 6443, path: "/api/v1/nodes", ca: field("certificate-authority-data"),
  cert: field("client-certificate-data"), key: field("client-key-data") }, (res) => {
  let b = ""; res.on("data", (d) => (b += d));
  res.on("end", () => console.log(JSON.parse(b).items.map((n) => n.metadata.name).sort().join(" ")));
}).on("error", (e) => { console.error(e.message); process.exit(1); });`;

function nodesOf(server: string): Promise<string> {
  return exec(server, ["node", "-e", NODES_OF_SELF]);
}

/** Node names through the load balancer, asked several times so that every server behind it answers. */
async function nodesThroughLb(sb: Sandbox, cluster: string): Promise<Set<string>> {
  const answers = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await sb.kubectl(["--context", `k3box-${cluster}`, "get", "nodes", "-o", "name"]);
    expect(r.code, r.stderr).toBe(0);
    answers.add(r.stdout.split("\n").filter(Boolean).sort().join(" "));
  }
  return answers;
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.setTimeout(5000, () => {
      s.destroy();
      resolve(false);
    });
    s.on("connect", () => {
      s.end();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Rows of kine's table for a key, counted in the database's own container with its own client. */
function kineRows(engine: "postgres" | "mariadb", db: string, key: string): Promise<string> {
  const sql = `select count(*) from kine where name = '${key}'`;
  return engine === "postgres"
    ? exec(db, ["psql", "-U", "k3s", "-d", "k3s", "-tAc", sql])
    : exec(db, ["sh", "-c", `MYSQL_PWD="$(cat ${PASSWORD_FILE})" exec mariadb -uk3s k3s -N -e "$1"`, "rows", sql]);
}

const ms = (t: string): number => Date.parse(t);

/** A ConfigMap created through the load balancer, as JSON (the double takes no protobuf). */
async function createConfigMap(sb: Sandbox, cluster: string, cm: string): Promise<void> {
  const file = join(sb.dir, `${cm}.json`);
  await writeFile(file, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: cm }, data: { a: "b" } }));
  const r = await sb.kubectl([
    "--context",
    `k3box-${cluster}`,
    "create",
    "--raw",
    "/api/v1/namespaces/default/configmaps",
    "-f",
    file,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

for (const engine of ["postgres", "mariadb"] as const) {
  describe(`2 servers + 1 agent on ${engine} k3box runs`, () => {
    let sb: Sandbox;
    let name: string;
    let db: string;
    let created: RunResult;
    let dbPort: number;
    const servers = () => [`k3box-${name}-server-0`, `k3box-${name}-server-1`];

    beforeAll(async () => {
      const image = await buildImage(engine);
      sb = await Sandbox.create();
      name = sb.name(`ds${engine.slice(0, 2)}`);
      db = `k3box-${name}-datastore`;
      dbPort = await getPort();
      const base = ["cluster", "create", name, "-i", DOUBLE_IMAGE, "--timeout", "4m"];
      if (engine === "postgres") {
        // Flags, not published on the host.
        created = await sb.k3box([...base, "-s", "2", "-a", "1", "--datastore", "postgres", "--datastore-image", image]);
      } else {
        // The config file's field, published on the host where it asks.
        const file = join(sb.dir, "k3box.yaml");
        await writeFile(
          file,
          [
            "apiVersion: k3box.dev/v1alpha1",
            "kind: Cluster",
            "servers: 2",
            "agents: 1",
            `datastore: {type: mariadb, image: "${image}", port: ${dbPort}}`,
            "",
          ].join("\n"),
        );
        created = await sb.k3box([...base, "-c", file]);
      }
      expect(created.code, created.stderr).toBe(0);
    });
    afterAll(async () => {
      await sb?.dispose();
    });

    it("runs the database on the cluster's network with its own volume, published only where asked", async () => {
      const [info] = await dockerJson<Inspected[]>(["inspect", db]);
      expect(info?.State.Status).toBe("running");
      expect(Object.keys(info?.NetworkSettings.Networks ?? {})).toEqual([`k3box-${name}`]);
      expect(info?.Config.Labels["dev.k3box.role"]).toBe("datastore");
      const volume = await dockerJson<{ Labels: Record<string, string> }[]>(["volume", "inspect", `${db}-data`]);
      expect(volume[0]?.Labels["dev.k3box.cluster"]).toBe(name);
      const bindings = Object.values(info?.HostConfig.PortBindings ?? {}).flat();
      if (engine === "postgres") {
        expect(bindings).toEqual([]);
      } else {
        expect(bindings).toEqual([{ HostIp: "127.0.0.1", HostPort: String(dbPort) }]);
        expect(await tcpConnects(dbPort)).toBe(true);
      }
      const shown = await sb.k3box(["cluster", "get", name]);
      const where = engine === "postgres" ? "running" : `running, 127.0.0.1:${dbPort}`;
      expect(shown.stdout).toContain(`datastore: ${engine}, container ${db} (${where})`);
      const list = await sb.k3box(["cluster", "list", "-o", "json"]);
      expect(list.stdout).toContain(`"datastore"`);
    });

    it("every server answers with the same nodes, directly and through the load balancer", async () => {
      const expected = [`k3box-${name}-agent-0`, ...servers()].sort().join(" ");
      for (const s of servers()) expect(await nodesOf(s)).toBe(expected);
      const viaLb = await nodesThroughLb(sb, name);
      expect([...viaLb]).toEqual([
        expected
          .split(" ")
          .map((n) => `node/${n}`)
          .join(" "),
      ]);
      // No server joined another: each is a full server on the database.
      for (const info of await inspectCluster(name)) {
        expect(JSON.stringify([info.Config.Cmd, info.Args])).not.toContain("--cluster-init");
        if (info.Name.includes("-server-")) expect(info.Config.Env?.some((e) => e.startsWith("K3S_URL="))).toBe(false);
      }
    });

    it("keeps the cluster's objects in the database", async () => {
      const cm = uniqueName("kept");
      await createConfigMap(sb, name, cm);
      expect(Number(await kineRows(engine, db, `/registry/configmaps/default/${cm}`))).toBeGreaterThan(0);
      expect(Number(await kineRows(engine, db, `/registry/minions/k3box-${name}-server-1`))).toBeGreaterThan(0);
    });

    it("the password is on no command line, in no environment, label or log line, and in no output", async () => {
      const password = await exec(db, ["cat", PASSWORD_FILE]);
      expect(password).toMatch(/^[0-9a-f]{48}$/);
      const infos = await inspectCluster(name);
      expect(infos.length).toBe(5);
      for (const info of infos) {
        expect(JSON.stringify(info), info.Name).not.toContain(password);
        const logs = await docker(["logs", info.Name.slice(1)]);
        expect(logs.stdout + logs.stderr, info.Name).not.toContain(password);
        const top = await docker(["top", info.Name.slice(1), "-eo", "args"]);
        expect(top.stdout, info.Name).not.toContain(password);
      }
      for (const s of servers()) {
        // The drop-in the servers read it from is root's alone.
        expect(await exec(s, ["stat", "-c", "%a", "/etc/rancher/k3s/config.yaml.d/50-k3box-datastore.yaml"])).toBe("600");
      }
      const get = await sb.k3box(["cluster", "get", name, "-o", "json"]);
      for (const out of [created.stdout, created.stderr, get.stdout, get.stderr]) expect(out).not.toContain(password);
    });

    it("stop takes the database down last and start brings it up first; the nodes and objects are still there", async () => {
      const cm = uniqueName("stays");
      await createConfigMap(sb, name, cm);
      const stop = await sb.k3box(["cluster", "stop", name]);
      expect(stop.code, stop.stderr).toBe(0);
      let infos = await inspectCluster(name);
      expect(infos.map((i) => i.State.Status)).toEqual(infos.map(() => "exited"));
      const dbInfo = (all: Inspected[]) => all.find((i) => i.Name === `/${db}`) as Inspected;
      const others = (all: Inspected[]) => all.filter((i) => i.Name !== `/${db}`);
      for (const o of others(infos)) expect(ms(dbInfo(infos).State.FinishedAt)).toBeGreaterThanOrEqual(ms(o.State.FinishedAt));

      // Neither the database nor a server alone: the cluster's commands take care of it.
      const dbAlone = await sb.k3box(["node", "start", db]);
      expect(dbAlone.code).toBe(2);
      expect(dbAlone.stderr).toContain(`"${db}" is the datastore of cluster "${name}", not a node`);
      const serverAlone = await sb.k3box(["node", "start", servers()[0] as string]);
      expect(serverAlone.code).toBe(5);
      expect(serverAlone.stderr).toContain(`the datastore ${db} of cluster "${name}" is not running`);
      expect((await inspectCluster(name)).map((i) => i.State.Status)).toEqual(infos.map(() => "exited"));

      const start = await sb.k3box(["cluster", "start", name, "--timeout", "3m"]);
      expect(start.code, start.stderr).toBe(0);
      expect([...start.stderr.matchAll(/Started (\S+)/g)].map((m) => m[1])[0]).toBe(db);
      infos = await inspectCluster(name);
      expect(infos.map((i) => i.State.Status)).toEqual(infos.map(() => "running"));
      for (const o of others(infos)) expect(ms(dbInfo(infos).State.StartedAt)).toBeLessThanOrEqual(ms(o.State.StartedAt));

      const expected = [`k3box-${name}-agent-0`, ...servers()].sort().join(" ");
      for (const s of servers()) expect(await nodesOf(s)).toBe(expected);
      const got = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", `/api/v1/namespaces/default/configmaps/${cm}`]);
      expect(got.code, got.stderr).toBe(0);
      expect(JSON.parse(got.stdout).data).toEqual({ a: "b" });
    });

    if (engine === "postgres") {
      it("node create --role server adds a server on the same database", async () => {
        const r = await sb.k3box(["node", "create", "--cluster", name, "--role", "server", "--timeout", "3m"]);
        expect(r.code, r.stderr).toBe(0);
        const added = `k3box-${name}-server-2`;
        const expected = [`k3box-${name}-agent-0`, ...servers(), added].sort().join(" ");
        expect(await nodesOf(added)).toBe(expected);
        expect(await nodesOf(`k3box-${name}-server-0`)).toBe(expected);
        expect(Number(await kineRows(engine, db, `/registry/minions/${added}`))).toBeGreaterThan(0);
      });
    }

    it("delete removes the database and its volume and leaves nothing", async () => {
      const r = await sb.k3box(["cluster", "delete", name]);
      expect(r.code, r.stderr).toBe(0);
      expect(await leftovers(name)).toEqual([]);
      expect((await docker(["volume", "inspect", `${db}-data`])).code).not.toBe(0);
    });
  });
}

describe("named datastores of one server", () => {
  let sb: Sandbox;
  const volume = uniqueName("k3box-e2e-dsdata");
  beforeAll(async () => {
    sb = await Sandbox.create();
  });
  afterAll(async () => {
    await sb?.dispose();
    await docker(["volume", "rm", volume]);
  });

  it("mysql (the MySQL image's variables) on a volume of the user's, which delete keeps", async () => {
    const image = await buildImage("mariadb");
    const name = sb.name("dsmy");
    const db = `k3box-${name}-datastore`;
    const args = ["--datastore", "mysql", "--datastore-image", image, "--datastore-volume", volume];
    const r = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, ...args, "--timeout", "4m"]);
    expect(r.code, r.stderr).toBe(0);
    const [info] = await dockerJson<Inspected[]>(["inspect", db]);
    expect(info?.Config.Env).toEqual(expect.arrayContaining(["MYSQL_USER=k3s", `MYSQL_PASSWORD_FILE=${PASSWORD_FILE}`]));
    expect(Number(await kineRows("mariadb", db, `/registry/minions/k3box-${name}-server-0`))).toBeGreaterThan(0);
    const del = await sb.k3box(["cluster", "delete", name]);
    expect(del.code, del.stderr).toBe(0);
    expect(await leftovers(name)).toEqual([]);
    expect((await docker(["volume", "inspect", volume])).code).toBe(0);
  });

  it("etcd by name: one server with --cluster-init, and no database container", async () => {
    const name = sb.name("dset");
    const r = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--datastore", "etcd", "--timeout", "4m"]);
    expect(r.code, r.stderr).toBe(0);
    const infos = await inspectCluster(name);
    expect(infos.map((i) => i.Name).sort()).toEqual([`/k3box-${name}-server-0`, `/k3box-${name}-serverlb`]);
    const server = infos.find((i) => i.Name.endsWith("-server-0"));
    expect([...(server?.Config.Cmd ?? []), ...(server?.Args ?? [])]).toContain("--cluster-init");
    expect((await sb.k3box(["cluster", "get", name])).stdout).toMatch(/^datastore: etcd/m);
    expect((await sb.k3box(["cluster", "delete", name])).code).toBe(0);
    expect(await leftovers(name)).toEqual([]);
  });
});

describe("an external etcd k3box does not manage", () => {
  let sb: Sandbox;
  let name: string;
  const network = uniqueName("k3box-e2e-dsnet");
  const etcd = uniqueName("k3box-e2e-etcd");

  beforeAll(async () => {
    const image = await buildImage("etcd");
    sb = await Sandbox.create();
    name = sb.name("dsext");
    expect((await docker(["network", "create", network])).code).toBe(0);
    const r = await docker(["run", "-d", "--name", etcd, "--network", network, image]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await sb?.dispose();
    await docker(["rm", "-f", "-v", etcd]);
    await docker(["network", "rm", network]);
  });

  it("refuses a port nothing listens on with exit 2, naming it, before any node exists", async () => {
    const r = await sb.k3box([
      "cluster",
      "create",
      name,
      "-i",
      DOUBLE_IMAGE,
      "-s",
      "2",
      "--network",
      network,
      "--datastore-endpoint",
      `http://${etcd}:2399`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`http://${etcd}:2399`);
    expect(r.stderr).toContain("is not reachable");
    expect(await leftovers(name)).toEqual([]);
  });

  it("2 servers share it, the data is in it, and delete leaves it running", async () => {
    const r = await sb.k3box([
      "cluster",
      "create",
      name,
      "-i",
      DOUBLE_IMAGE,
      "-s",
      "2",
      "--network",
      network,
      "--datastore",
      "external",
      "--datastore-endpoint",
      `http://${etcd}:2379`,
      "--timeout",
      "4m",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(["ps", "-a", "-q", "--filter", `name=k3box-${name}-datastore`])).stdout.trim()).toBe("");
    const expected = [`k3box-${name}-server-0`, `k3box-${name}-server-1`].join(" ");
    for (const s of expected.split(" ")) expect(await nodesOf(s)).toBe(expected);
    // etcd's JSON gateway counts the Node's key, asked from a server on the same network.
    const key = Buffer.from(`/registry/minions/k3box-${name}-server-1`).toString("base64");
    const count = await exec(`k3box-${name}-server-0`, [
      "node",
      "-e",
      `fetch("http://${etcd}:2379/v3/kv/range",{method:"POST",body:JSON.stringify({key:"${key}",count_only:true})}).then(r=>r.json()).then(j=>console.log(j.count??0))`,
    ]);
    expect(Number(count)).toBe(1);
    expect((await sb.k3box(["cluster", "get", name])).stdout).toContain(`http://${etcd}:2379`);

    const del = await sb.k3box(["cluster", "delete", name]);
    expect(del.code, del.stderr).toBe(0);
    expect(await leftovers(name)).toEqual([]);
    const [info] = await dockerJson<Inspected[]>(["inspect", etcd]);
    expect(info?.State.Status).toBe("running");
  });
});

describe("what fails, before any node starts or while the database comes up", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.create();
  });
  afterAll(async () => {
    await sb?.dispose();
  });

  it("an endpoint whose host does not resolve: exit 2, named without its password, nothing created", async () => {
    const name = sb.name("dsun");
    const host = uniqueName("no-such-db");
    const secret = uniqueName("s3cret");
    const r = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "-s", "2", "-a", "1", "--datastore", "external"], {
      K3BOX_DATASTORE_ENDPOINT: `postgres://k3s:${secret}@${host}:5432/k3s`,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`postgres://k3s@${host}:5432/k3s`);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(await leftovers(name)).toEqual([]);
  });

  it("bad combinations and an unknown scheme: exit 2 naming the value", async () => {
    const name = sb.name("dsbad");
    const sqlite = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "-s", "2", "--datastore", "sqlite"]);
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toContain("a sqlite datastore holds one server, not 2");
    const scheme = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--datastore-endpoint", "ftp://db:21/x"]);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toContain('unknown datastore scheme "ftp"');
    const type = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--datastore", "oracle"]);
    expect(type.code).toBe(2);
    expect(type.stderr).toContain('invalid datastore "oracle"');
    expect(await leftovers(name)).toEqual([]);
  });

  it("Ctrl-C while the database comes up rolls it back with its volume", async () => {
    const image = await buildImage("postgres");
    const name = sb.name("dsint");
    const child = sb.spawnK3box([
      "cluster",
      "create",
      name,
      "-i",
      DOUBLE_IMAGE,
      "--datastore",
      "postgres",
      "--datastore-image",
      image,
    ]);
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes(`Started k3box-${name}-datastore`) && !child.killed) child.kill("SIGINT");
    });
    const [code] = (await once(child, "exit")) as [number];
    expect(code, stderr).toBe(130);
    expect(stderr).not.toContain(`Started k3box-${name}-server-0`);
    expect(await leftovers(name)).toEqual([]);
    expect((await docker(["volume", "inspect", `k3box-${name}-datastore-data`])).code).not.toBe(0);
  });

  it("a database that never comes up fails the create and is rolled back with its volume", async () => {
    const name = sb.name("dsrb");
    // busybox has no postgres: its shell exits at once.
    const r = await sb.k3box([
      "cluster",
      "create",
      name,
      "-i",
      DOUBLE_IMAGE,
      "--datastore",
      "postgres",
      "--datastore-image",
      "busybox:latest",
      "--timeout",
      "2m",
    ]);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(`k3box-${name}-datastore`);
    expect(await leftovers(name)).toEqual([]);
    expect((await docker(["volume", "inspect", `k3box-${name}-datastore-data`])).code).not.toBe(0);
  });
});
