// The double's --datastore-endpoint handling: kine's endpoint rules and errors, and the
// bootstrap data servers share through the datastore.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bootstrapPassphrase, decrypt, encrypt, sharedCAs, storageKey } from "../../fixtures/k3s-double/src/bootstrap.js";
import { DatastoreFatal, goError, parseEndpoint, type SqlTarget } from "../../fixtures/k3s-double/src/datastore.js";
import { FileKV } from "../../fixtures/k3s-double/src/kv.js";
import { readPasswd } from "../../fixtures/k3s-double/src/tokens.js";

const FAILURE =
  "starting kubernetes: preparing server: failed to bootstrap cluster data: creating storage endpoint: failed to create driver for configured endpoint";

describe("datastore endpoints", () => {
  it("reads postgres URLs as kine does: default database kubernetes, lower-cased", () => {
    expect(parseEndpoint("postgres://k3s:p%40ss@db.example:6543/K3S?sslmode=disable")).toEqual({
      kind: "postgres",
      host: "db.example",
      port: 6543,
      user: "k3s",
      password: "p@ss",
      database: "k3s",
      tls: false,
    });
    expect(parseEndpoint("postgresql://u:p@db")).toMatchObject({ port: 5432, database: "kubernetes" });
    expect(parseEndpoint("postgres://u:p@db/x?sslmode=verify-full")).toMatchObject({ tls: true });
  });

  it("reads go-sql-driver DSNs: tcp(host:port), unix(path), passwords with @ and /", () => {
    expect(parseEndpoint("mysql://k3s:s@c/r3t@tcp(maria:3307)/k3s")).toEqual({
      kind: "mysql",
      host: "maria",
      port: 3307,
      user: "k3s",
      password: "s@c/r3t",
      database: "k3s",
      tls: false,
    });
    expect(parseEndpoint("mysql://root:pw@tcp(10.0.0.5)/")).toMatchObject({
      host: "10.0.0.5",
      port: 3306,
      database: "kubernetes",
    });
    expect(parseEndpoint("mysql://root@unix(/run/mysqld/mysqld.sock)/db")).toMatchObject({
      socketPath: "/run/mysqld/mysqld.sock",
      password: "",
    });
  });

  it("takes http(s) endpoints as etcd, several separated by commas", () => {
    const ep = parseEndpoint("http://etcd-a:2379,https://etcd-b:2379");
    expect(ep.kind).toBe("etcd");
    expect(ep.kind === "etcd" && ep.urls.map((u) => u.host)).toEqual(["etcd-a:2379", "etcd-b:2379"]);
  });

  it("fails like kine on a DSN without a scheme or an unknown scheme", () => {
    expect(() => parseEndpoint("db.example:5432")).toThrow(
      new DatastoreFatal(
        `${FAILURE}: invalid datastore endpoint; endpoint should be a DSN URI in the format <scheme>://<authority>`,
      ),
    );
    expect(() => parseEndpoint("mongodb://db:27017")).toThrow(new DatastoreFatal(`${FAILURE}: unknown driver`));
    expect(() => parseEndpoint("nats://n:4222")).toThrow(/not simulated/);
  });

  it("words connection errors as the Go drivers do", () => {
    const pg: SqlTarget = { kind: "postgres", host: "db", port: 5432, user: "k3s", password: "x", database: "k3s", tls: false };
    const refused = Object.assign(new Error("connect ECONNREFUSED 172.18.0.9:5432"), {
      code: "ECONNREFUSED",
      address: "172.18.0.9",
      port: 5432,
    });
    expect(goError(refused, pg)).toBe(
      "failed to connect to `user=k3s database=k3s`: db:5432 (db): dial error: dial tcp 172.18.0.9:5432: connect: connection refused",
    );
    const auth = Object.assign(new Error('password authentication failed for user "k3s"'), { code: "28P01", severity: "FATAL" });
    expect(goError(auth, pg)).toBe(
      'failed to connect to `user=k3s database=k3s`: server error: FATAL: password authentication failed for user "k3s" (SQLSTATE 28P01)',
    );
    const my = { ...pg, kind: "mysql" as const, port: 3306 };
    expect(goError({ ...refused, port: 3306 }, my)).toBe("dial tcp 172.18.0.9:3306: connect: connection refused");
    const denied = Object.assign(new Error("Access denied for user 'k3s'@'172.18.0.3' (using password: YES)"), {
      errno: 1045,
      sqlState: "28000",
    });
    expect(goError(denied, my)).toBe("Error 1045 (28000): Access denied for user 'k3s'@'172.18.0.3' (using password: YES)");
    expect(goError(Object.assign(new Error("getaddrinfo ENOTFOUND db"), { code: "ENOTFOUND" }), my)).toBe(
      "dial tcp: lookup db: no such host",
    );
  });
});

describe("bootstrap data", () => {
  let dir = "";
  beforeEach(() => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    dir = mkdtempSync(join(tmpdir(), "k3s-double-bootstrap-"));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keys by the token's sha256 and encrypts with it", () => {
    expect(storageKey("secret")).toBe(`/bootstrap/${createHash("sha256").update("secret").digest("hex").slice(0, 12)}`);
    const sealed = encrypt("secret", Buffer.from('{"a":1}'));
    expect(sealed).toMatch(/^[0-9a-f]{16}:[A-Za-z0-9+/=]+$/);
    expect(decrypt("secret", sealed).toString()).toBe('{"a":1}');
    expect(() => decrypt("other", sealed)).toThrow("cipher: message authentication failed");
  });

  it("the first server saves its CAs and passwd; the next one adopts them; another token is refused", async () => {
    const kv = new FileKV(join(dir, "kv.json"), true);
    const server = (name: string): { tls: string; passwd: string } => ({
      tls: join(dir, name, "tls"),
      passwd: join(dir, name, "cred", "passwd"),
    });
    const a = server("a");
    const b = server("b");
    const first = await sharedCAs(kv, bootstrapPassphrase(a.passwd, "tok"), a.tls, a.passwd);
    const stored = (await kv.list("/bootstrap/")).rows;
    expect(stored.map((r) => r.key)).toEqual([storageKey("tok")]);
    expect(stored[0]?.value).not.toContain("BEGIN CERTIFICATE");
    const second = await sharedCAs(kv, bootstrapPassphrase(b.passwd, "tok"), b.tls, b.passwd);
    expect(second.server.certPem).toBe(first.server.certPem);
    expect(readFileSync(join(b.tls, "client-ca.key"), "utf8")).toBe(readFileSync(join(a.tls, "client-ca.key"), "utf8"));
    const c = server("c");
    await expect(sharedCAs(kv, bootstrapPassphrase(c.passwd, "other"), c.tls, c.passwd)).rejects.toThrow(
      "starting kubernetes: preparing server: failed to bootstrap cluster data: bootstrap data already found and encrypted with different token",
    );
  });

  it("without a token, the passphrase is the stored password, else a new one written to passwd", () => {
    const passwd = join(dir, "cred", "passwd");
    const made = bootstrapPassphrase(passwd, undefined);
    expect(made).toMatch(/^[0-9a-f]{32}$/);
    expect(readPasswd(passwd)?.server).toBe(made);
    expect(bootstrapPassphrase(passwd, undefined)).toBe(made);
    expect(bootstrapPassphrase(passwd, "given")).toBe("given");
  });

  it("servers that start together end up with the CAs of the one that saved first", async () => {
    const kv = new FileKV(join(dir, "kv.json"), true);
    const dirs = ["x", "y", "z"].map((n) => ({ tls: join(dir, n, "tls"), passwd: join(dir, n, "passwd") }));
    const cas = await Promise.all(dirs.map((d) => sharedCAs(kv, "tok", d.tls, d.passwd)));
    expect(new Set(cas.map((c) => c.server.certPem)).size).toBe(1);
    expect(new Set(dirs.map((d) => readFileSync(join(d.tls, "server-ca.crt"), "utf8"))).size).toBe(1);
  });
});
