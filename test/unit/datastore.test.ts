/**
 * Datastores without Docker: endpoints, the spec, the plans (containers, the secret's way to the
 * servers, order), node create, lifecycle, and create/delete/rollback on the in-memory engine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NodeFailedError, UsageError } from "../../src/base/errors.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import type { ClusterInput } from "../../src/core/cluster-spec/input.js";
import { specView } from "../../src/core/cluster-spec/view.js";
import { loadConfig } from "../../src/core/config/load.js";
import { ConfigSource } from "../../src/core/config/source.js";
import { parseExternalEndpoint, redactEndpoint } from "../../src/core/datastore/endpoint.js";
import { DATASTORE_PASSWORD_PATH } from "../../src/core/datastore/engines.js";
import { K3BOX, K3D } from "../../src/core/dialect.js";
import { DATASTORE_CONFIG_PATH } from "../../src/core/node/paths.js";
import { createCluster, planClusterCreate } from "../../src/core/operations/create.js";
import { deleteCluster } from "../../src/core/operations/delete.js";
import { getCluster } from "../../src/core/operations/list.js";
import { startCluster, stopCluster } from "../../src/core/operations/lifecycle.js";
import type { Action } from "../../src/core/plan/actions.js";
import { planCreate, type PlanContext } from "../../src/core/plan/cluster.js";
import { describePlan } from "../../src/core/plan/describe.js";
import { planStart, planStop, type NodeState } from "../../src/core/plan/lifecycle.js";
import { planNewNodes } from "../../src/core/plan/nodes.js";
import type { ContainerInfo, ContainerSpec } from "../../src/runtime/types.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";
import { answerProbes } from "../support/probe.js";
import { K3S_KUBECONFIG } from "./k3s-kubeconfig-fixture.js";

const PASSWORD = "0123456789abcdef0123456789abcdef0123456789abcdef";

const ctx: PlanContext = {
  token: "t0ken",
  apiHostPort: 6550,
  portHostPorts: new Map(),
  networkExists: false,
  version: "0.0.0-test",
  nodeEntrypoint: "#!/bin/sh\n",
  datastorePassword: PASSWORD,
};

async function plan(input: ClusterInput, c: PlanContext = ctx) {
  return planCreate(await buildClusterSpec({ name: "c", ...input }, { dialect: c.dialect ?? K3BOX }), c);
}

/** Every leaf action in the order a sequence runs them (a parallel's members in their written order). */
function leaves(a: Action): string[] {
  switch (a.type) {
    case "sequence":
    case "parallel":
      return a.actions.flatMap(leaves);
    case "create-container":
      return [`create:${a.container.name}`];
    case "create-volume":
      return [`volume:${a.volume.name}`];
    case "start":
      return [`start:${a.container}${a.milestone ? `@${a.milestone}` : ""}`];
    case "wait":
      return [`wait:${a.container}@${a.milestone}`];
    case "wait-datastore":
      return [`wait-datastore:${a.container}:${a.engine}`];
    case "ensure-image":
      return [`image:${a.image}`];
    case "stop":
      return [`stop:${a.container}`];
    default:
      return [a.type];
  }
}

/** Everything of a container `docker inspect` shows: command line, environment, labels. */
function inspectable(c: ContainerSpec): string {
  return JSON.stringify({ entrypoint: c.entrypoint, cmd: c.cmd, env: c.env, labels: c.labels });
}

/** The peer's files a new node copies. */
function copiedPaths(
  files: { readonly paths: readonly string[] } | { readonly entries: unknown } | undefined,
): readonly string[] {
  return files !== undefined && "paths" in files ? files.paths : [];
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("external endpoints", () => {
  it("read kine's DSNs and etcd URLs, with the addresses the nodes connect to", () => {
    expect(parseExternalEndpoint("postgres://k3s:pw@db:5433/k3s?sslmode=disable")).toEqual({
      url: "postgres://k3s:pw@db:5433/k3s?sslmode=disable",
      driver: "postgres",
      targets: [{ host: "db", port: 5433 }],
      shown: "postgres://k3s@db:5433/k3s?sslmode=disable",
    });
    expect(parseExternalEndpoint("postgresql://u:p@h1,h2:6000/x").targets).toEqual([
      { host: "h1", port: 5432 },
      { host: "h2", port: 6000 },
    ]);
    // go-sql-driver splits at the last '/' and the last '@' before it: a password may hold both.
    const my = parseExternalEndpoint("mysql://k3s:p/a@ss@tcp(db.internal:3307)/k3s");
    expect(my.targets).toEqual([{ host: "db.internal", port: 3307 }]);
    expect(my.shown).toBe("mysql://k3s@tcp(db.internal:3307)/k3s");
    expect(parseExternalEndpoint("http://etcd-0:2379,https://[::1]:2380").targets).toEqual([
      { host: "etcd-0", port: 2379 },
      { host: "::1", port: 2380 },
    ]);
  });

  it("refuse an unknown scheme, a DSN without one, a socket and a missing host, never showing the password", () => {
    const cases: Array<[string, RegExp]> = [
      ["mongodb://u:sekret@h/x", /unknown datastore scheme "mongodb" in --datastore-endpoint "mongodb:\/\/u@h\/x"/],
      ["u:sekret@db:5432", /invalid --datastore-endpoint "<redacted>@db:5432": give <scheme>:\/\/<authority>/],
      ["mysql://u:sekret@unix(/run/mysqld.sock)/k3s", /names a unix address: the nodes reach a datastore over tcp only/],
      ["mysql://u:sekret@/k3s", /names no host: give tcp\(HOST:3306\)/],
      ["postgres://u:sekret@/k3s", /names no host/],
    ];
    for (const [url, message] of cases) {
      let err: unknown;
      try {
        parseExternalEndpoint(url);
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain("sekret");
    }
  });

  it("are shown without passwords, in the user part and in the query", () => {
    expect(redactEndpoint("postgres://u@h/db?password=sekret&sslmode=require&sslrootcert=/a/b.pem")).toBe(
      "postgres://u@h/db?password=<redacted>&sslmode=require&sslrootcert=/a/b.pem",
    );
    expect(redactEndpoint("https://etcd:2379")).toBe("https://etcd:2379");
    expect(redactEndpoint("mysql://root:s3cr:et@tcp(h:3306)/k3s")).toBe("mysql://root@tcp(h:3306)/k3s");
  });
});

describe("the datastore in the spec", () => {
  const build = (input: ClusterInput) => buildClusterSpec({ name: "c", ...input });
  const problems = async (input: ClusterInput): Promise<string> => (await rejection(build(input))).message;

  it("defaults to sqlite for one server, etcd for more (or with --cluster-init), external for an endpoint", async () => {
    expect((await build({})).datastore).toEqual({ type: "sqlite" });
    expect((await build({ servers: 3 })).datastore).toEqual({ type: "etcd" });
    expect((await build({ k3sArgs: ["--cluster-init@server:0"] })).datastore).toEqual({ type: "etcd" });
    expect((await build({ datastoreEndpoint: "http://etcd:2379" })).datastore).toMatchObject({
      type: "external",
      endpoint: { driver: "etcd" },
    });
  });

  it("runs the official image unless told otherwise, published only when asked", async () => {
    expect((await build({ datastore: "postgres" })).datastore).toEqual({
      type: "postgres",
      image: "docker.io/library/postgres:17",
    });
    expect((await build({ datastore: "mysql" })).datastore).toMatchObject({ image: "docker.io/library/mysql:8.4" });
    expect(
      (await build({ datastore: "MariaDB", datastoreImage: "my/maria:1", datastorePort: "3307", datastoreVolume: "data" }))
        .datastore,
    ).toEqual({ type: "mariadb", image: "my/maria:1", publish: { hostIp: "127.0.0.1", hostPort: 3307 }, volume: "data" });
    expect((await build({ datastore: "postgres", datastoreVolume: "./pg" })).datastore).toMatchObject({
      volume: join(process.cwd(), "pg"),
    });
  });

  it("refuses what does not go together, naming each problem at once", async () => {
    expect(await problems({ datastore: "mongo" })).toContain(
      'invalid datastore "mongo": use sqlite, etcd, postgres, mysql, mariadb, external',
    );
    const many = await problems({
      servers: 2,
      datastore: "sqlite",
      datastoreImage: "postgres:17",
      datastoreEndpoint: "postgres://u:p@h/db",
    });
    expect(many).toContain("a sqlite datastore holds one server, not 2");
    expect(many).toContain("--datastore-image is for a database k3box runs");
    expect(many).toContain("--datastore-endpoint is for --datastore external: a sqlite datastore has none");
    expect(await problems({ datastore: "external" })).toContain("--datastore external needs --datastore-endpoint URL");
    expect(await problems({ datastore: "postgres", datastoreEndpoint: "postgres://u:p@h/db" })).toContain(
      "k3box makes the endpoint of the postgres database it runs",
    );
    expect(await problems({ datastore: "mysql", k3sArgs: ["--cluster-init@server:0"] })).toContain(
      'k3s argument "--cluster-init" conflicts with --datastore mysql',
    );
    expect(await problems({ datastore: "etcd", k3sArgs: ["--datastore-endpoint=http://e:2379"] })).toContain(
      'k3s argument "--datastore-endpoint" conflicts with --datastore etcd',
    );
    expect(await problems({ datastore: "postgres", datastorePort: "127.0.0.1:6550", apiPort: "127.0.0.1:6550" })).toContain(
      "--datastore-port uses host port 127.0.0.1:6550/tcp already taken by --api-port",
    );
    expect(await problems({ datastore: "postgres", datastoreVolume: "no good" })).toContain('invalid datastore volume "no good"');
    expect(await problems({ datastoreEndpoint: "sqlite:///db" })).toContain('unknown datastore scheme "sqlite"');
    // Without --datastore, a --datastore-endpoint among the k3s arguments is left as it always was.
    expect((await build({ k3sArgs: ["--datastore-endpoint=http://etcd:2379"] })).datastore).toEqual({ type: "sqlite" });
  });

  it("comes from a config file, and shows its endpoint without the password", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3box-ds-config-"));
    try {
      const text = [
        "apiVersion: k3box.dev/v1alpha1",
        "kind: Cluster",
        "servers: 2",
        "datastore:",
        "  type: external",
        "  endpoint: ${DB_URL}",
        "",
      ].join("\n");
      const loaded = loadConfig(new ConfigSource("k3box.yaml", text, dir), { DB_URL: "postgres://k3s:sekret@db:5432/k3s" });
      expect(loaded.problems).toEqual([]);
      const spec = await buildClusterSpec({ ...loaded.input, name: "c" });
      expect(specView(spec).datastore).toEqual({ type: "external", endpoint: "postgres://k3s@db:5432/k3s" });
      const volume = loadConfig(
        new ConfigSource(
          "k3box.yaml",
          "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\ndatastore: {type: mysql, volume: ./db, port: 3307}\n",
          dir,
        ),
      );
      expect(volume.input).toMatchObject({ datastore: "mysql", datastoreVolume: join(dir, "db"), datastorePort: "3307" });
      const bad = loadConfig(
        new ConfigSource("k3box.yaml", "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\ndatastore: {type: oracle}\n", dir),
      );
      expect(bad.problems.join("\n")).toMatch(/k3box\.yaml:3:\d+: datastore\.type/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("planning a cluster on a database k3box runs", () => {
  it("makes the database container: official image, its data volume, the password as a 0600 file, not published", async () => {
    const p = await plan({ servers: 2, agents: 1, datastore: "postgres" });
    const db = p.datastore.container;
    expect(db?.name).toBe("k3box-c-datastore");
    expect(db?.container).toMatchObject({
      image: "docker.io/library/postgres:17",
      hostname: "k3box-c-datastore",
      network: "k3box-c",
      networkAliases: ["k3box-c-datastore"],
      restartPolicy: "unless-stopped",
      ports: [],
      mounts: [{ type: "volume", source: "k3box-c-datastore-data", target: "/var/lib/postgresql/data" }],
      env: { POSTGRES_USER: "k3s", POSTGRES_DB: "k3s", POSTGRES_PASSWORD_FILE: DATASTORE_PASSWORD_PATH },
    });
    expect(db?.container.labels).toMatchObject({
      "dev.k3box.cluster": "c",
      "dev.k3box.role": "datastore",
      "dev.k3box.datastore": "postgres",
      "dev.k3box.datastore.endpoint": "postgres://k3s@k3box-c-datastore:5432/k3s?sslmode=disable",
    });
    expect(db?.files).toEqual([{ path: DATASTORE_PASSWORD_PATH, content: PASSWORD, mode: 0o600 }]);
    expect(db?.volume).toEqual({
      name: "k3box-c-datastore-data",
      labels: expect.objectContaining({ "dev.k3box.cluster": "c", "dev.k3box.role": "datastore" }),
    });
    const mysql = await plan({ datastore: "mysql", datastorePort: "3307", datastoreVolume: "/srv/db" });
    expect(mysql.datastore.container?.container).toMatchObject({
      ports: [{ containerPort: 3306, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 3307 }],
      mounts: [{ type: "bind", source: "/srv/db", target: "/var/lib/mysql" }],
      env: { MYSQL_PASSWORD_FILE: DATASTORE_PASSWORD_PATH, MYSQL_ROOT_PASSWORD_FILE: DATASTORE_PASSWORD_PATH },
    });
    // A volume the user named is theirs: k3box does not create it, so it does not delete it.
    expect(mysql.datastore.container?.volume).toBeUndefined();
    expect(leaves(mysql.actions).filter((l) => l.startsWith("volume:"))).toEqual([
      "volume:k3box-c-server-0-data",
      "volume:k3box-c-images",
    ]);
  });

  it("gives every server the endpoint as a 0600 config drop-in, and no server --cluster-init or K3S_URL", async () => {
    const p = await plan({ servers: 2, agents: 1, datastore: "mariadb" });
    const endpoint = `mysql://k3s:${PASSWORD}@tcp(k3box-c-datastore:3306)/k3s`;
    for (const server of p.nodes.filter((n) => n.role === "server")) {
      expect(server.files).toContainEqual({
        path: DATASTORE_CONFIG_PATH,
        content: `datastore-endpoint: ${JSON.stringify(endpoint)}\n`,
        mode: 0o600,
      });
      expect(server.container.cmd).not.toContain("--cluster-init");
      expect(server.container.env?.K3S_URL).toBeUndefined();
      expect(server.container.labels).toMatchObject({
        "dev.k3box.datastore": "mariadb",
        "dev.k3box.datastore.endpoint": "mysql://k3s@tcp(k3box-c-datastore:3306)/k3s",
      });
      expect(JSON.parse(server.container.labels["dev.k3box.files"] as string)).toContain(DATASTORE_CONFIG_PATH);
    }
    const agent = p.nodes.find((n) => n.role === "agent");
    expect(agent?.container.env?.K3S_URL).toBe("https://k3box-c-server-0:6443");
    expect(agent?.files.map((f) => f.path)).not.toContain(DATASTORE_CONFIG_PATH);
    // The password is nowhere docker inspect would show it, nor in the dry run's output.
    for (const c of [...p.nodes.map((n) => n.container), p.datastore.container?.container as ContainerSpec]) {
      expect(inspectable(c), c.name).not.toContain(PASSWORD);
    }
    const spec = await buildClusterSpec({ name: "c", servers: 2, agents: 1, datastore: "mariadb" });
    expect(JSON.stringify({ spec: specView(spec), plan: describePlan(p) })).not.toContain(PASSWORD);
  });

  it("starts the database first and waits until it accepts connections, then server-0, then the rest together", async () => {
    const order = leaves((await plan({ servers: 3, agents: 1, datastore: "postgres" })).actions);
    const at = (l: string) => {
      const i = order.indexOf(l);
      expect(i, `${l} in ${order.join(", ")}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(order).toContain("image:docker.io/library/postgres:17");
    expect(at("create:k3box-c-datastore")).toBeLessThan(at("start:k3box-c-datastore"));
    expect(at("start:k3box-c-datastore")).toBeLessThan(at("wait-datastore:k3box-c-datastore:postgres"));
    expect(at("wait-datastore:k3box-c-datastore:postgres")).toBeLessThan(at("start:k3box-c-server-0@server-started"));
    expect(at("start:k3box-c-server-0@server-started")).toBeLessThan(at("start:k3box-c-server-1@server"));
    expect(at("wait:k3box-c-server-0@server")).toBeLessThan(at("start:k3box-c-agent-0@agent"));
    // server-1 and server-2 start side by side, not one after the other: they are one parallel.
    const p = await plan({ servers: 3, datastore: "postgres" });
    const steps = (p.actions as Extract<Action, { type: "sequence" }>).actions;
    const together = steps.find(
      (a) =>
        a.type === "parallel" &&
        leaves(a).includes("start:k3box-c-server-1@server") &&
        leaves(a).includes("start:k3box-c-server-2@server"),
    );
    expect(together).toBeDefined();
  });

  it("etcd: server-0 runs --cluster-init even alone, so servers can be added; external: no database container", async () => {
    const etcd = await plan({ datastore: "etcd" });
    expect(etcd.nodes[0]?.container.cmd).toContain("--cluster-init");
    expect(etcd.nodes[0]?.container.labels["dev.k3box.server.init"]).toBe("true");
    const sqlite = await plan({});
    expect(sqlite.nodes[0]?.container.cmd).not.toContain("--cluster-init");
    expect(sqlite.nodes[0]?.container.labels["dev.k3box.datastore"]).toBe("sqlite");

    const ext = await plan({ servers: 2, datastoreEndpoint: "postgres://k3s:sekret@db:5432/k3s" });
    expect(ext.datastore).toEqual({ type: "external", endpoint: "postgres://k3s@db:5432/k3s" });
    expect(leaves(ext.actions).some((l) => l.includes("datastore"))).toBe(false);
    for (const s of ext.nodes.filter((n) => n.role === "server")) {
      expect(s.files.find((f) => f.path === DATASTORE_CONFIG_PATH)?.content).toBe(
        'datastore-endpoint: "postgres://k3s:sekret@db:5432/k3s"\n',
      );
      expect(inspectable(s.container)).not.toContain("sekret");
    }
  });

  it("names the database in k3d's dialect as k3d names the rest", async () => {
    const p = await plan({ datastore: "postgres" }, { ...ctx, dialect: K3D, version: K3D.versionValue });
    expect(p.datastore.container?.name).toBe("k3d-c-datastore");
    expect(p.datastore.container?.container.labels).toMatchObject({ app: "k3d", "k3d.cluster": "c", "k3d.role": "datastore" });
  });
});

describe("starting, stopping and adding to a cluster with a datastore", () => {
  const states: NodeState[] = [
    { name: "lb", role: "loadbalancer", index: 0, init: false, running: false },
    { name: "db", role: "datastore", index: 0, init: false, running: false, datastore: "mysql" },
    { name: "s0", role: "server", index: 0, init: false, running: false, datastore: "mysql" },
    { name: "s1", role: "server", index: 1, init: false, running: false, datastore: "mysql" },
    { name: "a0", role: "agent", index: 0, init: false, running: false },
  ];

  it("start: the database first and waited for (even without --wait), then the servers together, then agents", () => {
    const start = planStart(states, true);
    expect(leaves(start)).toEqual([
      "start:db",
      "wait-datastore:db:mysql",
      "start:s0@server",
      "start:s1@server",
      "start:a0@agent",
    ]);
    const steps = (start as Extract<Action, { type: "sequence" }>).actions;
    expect(steps[2]).toMatchObject({ type: "parallel", actions: [{ container: "s0" }, { container: "s1" }] });
    expect(leaves(planStart(states, false))).toEqual(["start:db", "wait-datastore:db:mysql", "start:s0", "start:s1", "start:a0"]);
  });

  it("stop: the database last", () => {
    const running = states.map((s) => ({ ...s, running: true }));
    expect(leaves(planStop(running, 5))).toEqual(["stop:lb", "stop:a0", "stop:s1", "stop:s0", "stop:db"]);
  });

  const info = (spec: ContainerSpec, running = true): ContainerInfo => ({
    id: spec.name,
    name: spec.name,
    image: spec.image,
    labels: spec.labels,
    state: running ? "running" : "exited",
    running,
    restartCount: 0,
    ports: [],
    networks: {},
    env: spec.env ?? {},
    cmd: spec.cmd ?? [],
    mounts: [],
    spec,
  });

  it("node create: a server on a shared database copies the drop-in and joins no one; an agent gets neither", async () => {
    const p = await plan({ servers: 1, agents: 0, datastore: "postgres" });
    const existing = [...p.nodes.map((n) => info(n.container)), info(p.datastore.container?.container as ContainerSpec)];
    const [server] = planNewNodes("c", existing, "server", 1, { k3sArgs: [], env: {}, mounts: [] });
    expect(server?.name).toBe("k3box-c-server-1");
    expect(server?.container.env?.K3S_URL).toBeUndefined();
    expect(server?.container.cmd).not.toContain("--cluster-init");
    expect(server?.files).toMatchObject({ from: "k3box-c-server-0" });
    expect(copiedPaths(server?.files)).toContain(DATASTORE_CONFIG_PATH);
    const [agent] = planNewNodes("c", existing, "agent", 1, { k3sArgs: [], env: {}, mounts: [] });
    expect(agent?.container.env?.K3S_URL).toBe("https://k3box-c-server-0:6443");
    expect(copiedPaths(agent?.files)).not.toContain(DATASTORE_CONFIG_PATH);
    expect(agent?.container.labels["dev.k3box.datastore"]).toBeUndefined();
    expect(inspectable(agent?.container as ContainerSpec)).not.toContain(PASSWORD);

    const sqlite = await plan({});
    expect(() =>
      planNewNodes(
        "c",
        sqlite.nodes.map((n) => info(n.container)),
        "server",
        1,
        { k3sArgs: [], env: {}, mounts: [] },
      ),
    ).toThrow(/single server on sqlite.*--datastore etcd/);
  });
});

describe("on the in-memory engine", () => {
  const IMAGE = "rancher/k3s:v1.35.5-k3s1";
  const PG = "docker.io/library/postgres:17";
  const dir = mkdtempSync(join(tmpdir(), "k3box-ds-op-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Nodes write their kubeconfig; the database answers pg_isready once `ready` says so. */
  const engine = (ready: () => boolean = () => true) => {
    const rt = new MemoryRuntime({ images: { [IMAGE]: {}, [PG]: {} } });
    answerProbes(rt);
    rt.program(/-server-\d+$/, (p) => p.files.write({ path: "/output/kubeconfig.yaml", content: K3S_KUBECONFIG, mode: 0o600 }));
    rt.onExec(
      /-datastore$/,
      (argv) => argv[0] === "pg_isready",
      () => ({ exitCode: ready() ? 0 : 2 }),
    );
    return rt;
  };
  const input: ClusterInput = {
    name: "pg",
    servers: 2,
    agents: 1,
    image: IMAGE,
    datastore: "postgres",
    wait: false,
    loadBalancer: false,
    apiPort: "127.0.0.1:",
  };
  const options = (runtime: MemoryRuntime) => ({ runtime, kubeconfigPath: join(dir, "config") });

  it("creates the database with its volume and password file, shows it, stops it last, and deletes it all", async () => {
    const rt = engine();
    const created = await createCluster(input, options(rt));
    expect(created.datastore).toMatchObject({ type: "postgres", container: "k3box-pg-datastore" });
    expect(rt.snapshot()).toMatchObject({
      containers: expect.arrayContaining(["k3box-pg-datastore"]),
      volumes: expect.arrayContaining(["k3box-pg-datastore-data"]),
    });
    expect((await rt.readFileEntry("k3box-pg-datastore", DATASTORE_PASSWORD_PATH)).mode).toBe(0o600);
    const password = (await rt.readFile("k3box-pg-datastore", DATASTORE_PASSWORD_PATH)).toString();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    const dropIn = await rt.readFileEntry("k3box-pg-server-1", DATASTORE_CONFIG_PATH);
    expect(dropIn.mode).toBe(0o600);
    expect(dropIn.content.toString()).toContain(`postgres://k3s:${password}@k3box-pg-datastore:5432/k3s`);
    for (const c of await rt.listContainers({})) expect(inspectable(c.spec), c.name).not.toContain(password);

    const status = await getCluster("pg", options(rt));
    expect(status.datastore).toMatchObject({ type: "postgres", container: "k3box-pg-datastore", running: true });
    expect(status.nodes.map((n) => n.name)).not.toContain("k3box-pg-datastore");

    await stopCluster("pg", options(rt));
    const stops = rt.changes().filter((c) => c.startsWith("stopContainer"));
    expect(stops.at(-1)).toBe("stopContainer k3box-pg-datastore");
    expect((await getCluster("pg", options(rt))).state).toBe("stopped");
    await startCluster("pg", { ...options(rt), wait: false });
    const starts = rt.changes().filter((c) => c.startsWith("startContainer"));
    expect(starts.at(-4)).toBe("startContainer k3box-pg-datastore");

    await deleteCluster("pg", options(rt));
    expect(rt.isEmpty(), JSON.stringify(rt.snapshot())).toBe(true);
  });

  it("rolls back everything when the database never comes up", async () => {
    const rt = engine();
    rt.program(/-datastore$/, (p) => {
      p.log("FATAL:  data directory has wrong ownership");
      p.exit(1);
    });
    const err = await rejection(createCluster(input, options(rt)));
    expect(err).toBeInstanceOf(NodeFailedError);
    expect(err.message).toBe("datastore k3box-pg-datastore exited with code 1");
    expect((err as NodeFailedError).logTail).toContain("FATAL:  data directory has wrong ownership");
    expect(rt.changes().some((c) => c.startsWith("startContainer k3box-pg-server"))).toBe(false);
    expect(rt.isEmpty(), JSON.stringify(rt.snapshot())).toBe(true);
  });

  it("a database that goes down once the servers start on it fails the create, which is rolled back", async () => {
    const rt = engine();
    rt.program(/-server-0$/, async (p) => {
      rt.exitContainer("k3box-pg-datastore", 137);
      // Long enough for the watch on the database to see it (it looks twice a second).
      await new Promise((r) => setTimeout(r, 1500));
      p.files.write({ path: "/output/kubeconfig.yaml", content: K3S_KUBECONFIG, mode: 0o600 });
    });
    const err = await rejection(createCluster(input, options(rt)));
    expect(err).toBeInstanceOf(NodeFailedError);
    expect((err as NodeFailedError).node).toBe("k3box-pg-datastore");
    expect(rt.isEmpty(), JSON.stringify(rt.snapshot())).toBe(true);
  });

  it("a failure at any step of the create leaves nothing behind", async () => {
    const count = engine();
    await createCluster(input, options(count));
    const total = count.calls.length;
    for (let step = 1; step <= total; step++) {
      const rt = engine();
      // The probe's throwaway container is removed on a best-effort basis: a failed removal of it is no rollback's.
      const throwaway = (names: readonly string[]) => names.some((n) => n.startsWith("k3box-probe-"));
      rt.failOn("*", { match: (call) => call.seq === step && !(call.method === "removeContainer" && throwaway(call.names)) });
      const outcome = await createCluster(input, options(rt)).then(
        () => "created",
        (e: Error) => e.message,
      );
      // A failed read that is retried (the database's first exec, say) may still end in a cluster.
      if (outcome === "created") await deleteCluster("pg", options(rt));
      expect(rt.isEmpty(), `step ${step} (${outcome}): ${JSON.stringify(rt.snapshot())}`).toBe(true);
    }
  });

  it("an external endpoint that does not answer fails before anything is created, in a dry run too", async () => {
    const rt = engine();
    const checks: string[][] = [];
    rt.program(/-datastore-check-/, (p) => {
      checks.push([...(p.spec.entrypoint ?? []).slice(-2), p.spec.network]);
      p.log("telnet: bad address 'db.internal'");
      p.exit(1);
    });
    const ext = { ...input, datastore: undefined, datastoreEndpoint: "postgres://k3s:sekret@db.internal:5433/k3s" };
    for (const run of [() => createCluster(ext, options(rt)), () => planClusterCreate(ext, options(rt))]) {
      const err = await rejection(run());
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toBe(
        `datastore endpoint postgres://k3s@db.internal:5433/k3s is not reachable from network "bridge" (db.internal:5433: bad address 'db.internal'): start it, or give --network where it is reachable`,
      );
      expect(rt.isEmpty(), JSON.stringify(rt.snapshot())).toBe(true);
    }
    expect(checks).toEqual([
      ["db.internal", "5433", "bridge"],
      ["db.internal", "5433", "bridge"],
    ]);
    // One that answers lets the create go on; the servers get the endpoint, k3box never touches the database.
    rt.program(/-datastore-check-/, (p) => {
      p.log("Connected to db.internal");
      p.exit(0);
    });
    const created = await createCluster(ext, options(rt));
    expect(created.datastore).toEqual({ type: "external", endpoint: "postgres://k3s@db.internal:5433/k3s" });
    await deleteCluster("pg", options(rt));
    expect(rt.isEmpty(), JSON.stringify(rt.snapshot())).toBe(true);
  });
});
