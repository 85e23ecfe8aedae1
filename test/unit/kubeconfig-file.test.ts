import { execFile, execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, utimes, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CancelledError, KubeconfigError } from "../../src/core/errors.js";
import {
  clusterKubeconfig,
  mergeKubeconfig,
  parseKubeconfig,
  readKubeconfigFile,
  removeCluster,
  updateKubeconfigFile,
  writeKubeconfigFile,
  type KubeConfig,
} from "../../src/core/kubeconfig/index.js";
import { K3S_KUBECONFIG } from "./k3s-kubeconfig-fixture.js";

const run = promisify(execFile);

const OTHER_TEXT = `# written by hand
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://prod.example.com", x-vendor: {a: 1}}
contexts:
- name: prod
  context: {cluster: prod, user: prod}
users:
- name: prod
  user: {token: secret}
current-context: prod
`;

function k3box(name: string): KubeConfig {
  return clusterKubeconfig(K3S_KUBECONFIG, { clusterName: name, server: "https://127.0.0.1:6550" });
}

function add(name: string, switchContext = true): (c: KubeConfig) => KubeConfig {
  return (c) => mergeKubeconfig(c, k3box(name), { switchContext });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "k3box-kubeconfig-"));
  file = join(dir, "config");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function names(path: string): Promise<string[]> {
  return (await readKubeconfigFile(path)).clusters.map((c) => c.name);
}

describe("updateKubeconfigFile", () => {
  it("creates missing directories and the file, mode 0600", async () => {
    const path = join(dir, "home", ".kube", "config");
    await updateKubeconfigFile(path, add("dev"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "home", ".kube"))).mode & 0o777).toBe(0o700);
    const c = await readKubeconfigFile(path);
    expect(c["current-context"]).toBe("k3box-dev");
    expect(c.users.map((u) => u.name)).toEqual(["admin@k3box-dev"]);
    // No lock or temp file is left behind.
    expect(await readdir(join(dir, "home", ".kube"))).toEqual(["config"]);
  });

  it("keeps every other entry and sets mode 0600 on a file that had another mode", async () => {
    await writeFile(file, OTHER_TEXT, { mode: 0o644 });
    await updateKubeconfigFile(file, add("dev", false));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const c = await readKubeconfigFile(file);
    expect(c.clusters).toEqual([
      { name: "prod", cluster: { server: "https://prod.example.com", "x-vendor": { a: 1 } } },
      { name: "k3box-dev", cluster: { "certificate-authority-data": "Q0EtREFUQQ==", server: "https://127.0.0.1:6550" } },
    ]);
    expect(c.users.map((u) => u.name)).toEqual(["prod", "admin@k3box-dev"]);
    expect(c["current-context"]).toBe("prod");
  });

  it("counts an empty file as an empty config", async () => {
    await writeFile(file, "");
    await updateKubeconfigFile(file, add("dev", false));
    expect(await names(file)).toEqual(["k3box-dev"]);
    expect((await readKubeconfigFile(file))["current-context"]).toBe("k3box-dev");
  });

  it.each([
    [
      "a syntax error",
      "apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: [\n",
      /config:\d+:\d+: cannot parse kubeconfig/,
    ],
    ["another kind of document", "apiVersion: v1\nkind: Pod\n", /config is not a kubeconfig: kind is string "Pod"/],
  ])("leaves a file with %s byte-for-byte untouched and names it", async (_what, text, why) => {
    await writeFile(file, text, { mode: 0o640 });
    const before = await readFile(file);
    const err = await updateKubeconfigFile(file, add("dev")).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(KubeconfigError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(why);
    expect(await readFile(file)).toEqual(before);
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(["config"]);
  });

  it("leaves the file untouched and unlocked when fn throws", async () => {
    await writeFile(file, OTHER_TEXT);
    await expect(
      updateKubeconfigFile(file, () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await readFile(file, "utf8")).toBe(OTHER_TEXT);
    await updateKubeconfigFile(file, add("dev"));
    expect(await names(file)).toEqual(["prod", "k3box-dev"]);
  });

  it("does not rewrite the file when fn changes nothing", async () => {
    await writeFile(file, OTHER_TEXT, { mode: 0o644 });
    await updateKubeconfigFile(file, (c) => removeCluster(c, "absent").config);
    expect(await readFile(file, "utf8")).toBe(OTHER_TEXT);
    expect((await stat(file)).mode & 0o777).toBe(0o644);
  });

  it("removes a cluster's entries and moves current-context away", async () => {
    await writeFile(file, OTHER_TEXT);
    await updateKubeconfigFile(file, add("dev", true));
    await updateKubeconfigFile(file, (c) => removeCluster(c, "dev").config);
    const c = await readKubeconfigFile(file);
    expect(c.clusters.map((x) => x.name)).toEqual(["prod"]);
    expect(c.users.map((x) => x.name)).toEqual(["prod"]);
    expect(c["current-context"]).toBe("prod");
  });

  it("replaces the file a symlink points to and keeps the link", async () => {
    const real = join(dir, "dotfiles", "kubeconfig");
    await mkdir(join(dir, "dotfiles"));
    await writeFile(real, OTHER_TEXT);
    await symlink(join("dotfiles", "kubeconfig"), file);
    await updateKubeconfigFile(file, add("dev"));
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
    expect(await readlink(file)).toBe(join("dotfiles", "kubeconfig"));
    expect(await names(real)).toEqual(["prod", "k3box-dev"]);
    expect((await stat(real)).mode & 0o777).toBe(0o600);
  });

  it("creates the target of a dangling symlink", async () => {
    const real = join(dir, "elsewhere", "kubeconfig");
    await symlink(real, file);
    await updateKubeconfigFile(file, add("dev"));
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
    expect(await names(real)).toEqual(["k3box-dev"]);
  });

  it("loses no update among 20 concurrent ones", async () => {
    await writeFile(file, OTHER_TEXT);
    const clusters = Array.from({ length: 20 }, (_, i) => `c${i}`);
    await Promise.all(clusters.map((n) => updateKubeconfigFile(file, add(n))));
    expect((await names(file)).sort()).toEqual(["prod", ...clusters.map((n) => `k3box-${n}`)].sort());
    expect(await readdir(dir)).toEqual(["config"]);
  });

  it("waits while kubectl's <file>.lock exists and proceeds once it is removed", async () => {
    await writeFile(file, OTHER_TEXT);
    // client-go creates the lock as a plain file with mode 0.
    await writeFile(`${file}.lock`, "", { mode: 0 });
    let done = false;
    const update = updateKubeconfigFile(file, add("dev")).then(() => {
      done = true;
    });
    await sleep(500);
    expect(done).toBe(false);
    expect(await readFile(file, "utf8")).toBe(OTHER_TEXT);
    await rm(`${file}.lock`);
    await update;
    expect(await names(file)).toEqual(["prod", "k3box-dev"]);
    expect(await readdir(dir)).toEqual(["config"]);
  });

  it("gives up on a lock that is never released, naming it", async () => {
    await writeFile(file, OTHER_TEXT);
    await writeFile(`${file}.lock`, "");
    // Old enough to count as stale: still never taken from kubectl.
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    const err = await updateKubeconfigFile(file, add("dev"), { lockTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeconfigError);
    expect((err as Error).message).toContain(`${file}.lock`);
    expect((err as Error).message).toContain("kubectl");
    expect(await readFile(file, "utf8")).toBe(OTHER_TEXT);
    expect((await stat(`${file}.lock`)).isFile()).toBe(true);
  });

  it("takes over a stale lock left by a k3box process that died", async () => {
    await mkdir(`${file}.lock`);
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    await updateKubeconfigFile(file, add("dev"), { lockTimeoutMs: 2_000 });
    expect(await names(file)).toEqual(["k3box-dev"]);
    expect(await readdir(dir)).toEqual(["config"]);
  });

  it("stops waiting for the lock when the signal aborts, and leaks no lock", async () => {
    await writeFile(file, OTHER_TEXT);
    await writeFile(`${file}.lock`, "");
    const ac = new AbortController();
    const update = updateKubeconfigFile(file, add("dev"), { signal: ac.signal, lockTimeoutMs: 2_000 });
    await sleep(100);
    ac.abort();
    await expect(update).rejects.toBeInstanceOf(CancelledError);
    await rm(`${file}.lock`);
    // The abandoned attempt may still get the lock; it must hand it back.
    await updateKubeconfigFile(file, add("later"), { lockTimeoutMs: 5_000 });
    expect(await names(file)).toEqual(["prod", "k3box-later"]);
  });

  it("does nothing when the signal is already aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(updateKubeconfigFile(file, add("dev"), { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("readKubeconfigFile / writeKubeconfigFile", () => {
  it("reads a missing file as an empty config", async () => {
    const c = await readKubeconfigFile(join(dir, "missing"));
    expect(c.clusters).toEqual([]);
  });

  it("writes atomically with mode 0600 and reads back the same config", async () => {
    await writeFile(file, "old", { mode: 0o666 });
    const config = mergeKubeconfig(parseKubeconfig(OTHER_TEXT), k3box("dev"), { switchContext: true });
    await writeKubeconfigFile(file, config);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readKubeconfigFile(file)).toEqual(config);
    expect(await readdir(dir)).toEqual(["config"]);
  });
});

async function kubectlAvailable(): Promise<boolean> {
  try {
    await run("kubectl", ["version", "--client"]);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(await kubectlAvailable())("with a real kubectl", () => {
  // kubectl fails at once ("open <file>.lock: file exists") while anyone holds
  // the lock; a user would run it again, so the test does.
  async function kubectl(args: string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await run("kubectl", ["--kubeconfig", file, ...args]);
        return;
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? "";
        if (!stderr.includes(".lock: file exists") || attempt > 500) throw err;
        await sleep(5 + Math.random() * 20);
      }
    }
  }

  const setCluster = (n: string): Promise<void> => kubectl(["config", "set-cluster", n, "--server=https://1.2.3.4"]);

  it("kubectl refuses to write while we hold the lock", async () => {
    await writeFile(file, OTHER_TEXT);
    let stderr = "";
    await updateKubeconfigFile(file, (c) => {
      try {
        execFileSync("kubectl", ["--kubeconfig", file, "config", "set-cluster", "x", "--server=https://1.2.3.4"], {
          stdio: "pipe",
        });
      } catch (err) {
        stderr = String((err as { stderr?: Buffer }).stderr);
      }
      return mergeKubeconfig(c, k3box("dev"), { switchContext: false });
    });
    expect(stderr).toContain(`${file}.lock: file exists`);
    expect(await names(file)).toEqual(["prod", "k3box-dev"]);
  });

  it("loses nothing when kubectl and k3box take turns", async () => {
    await writeFile(file, OTHER_TEXT);
    for (let i = 0; i < 5; i++) {
      await setCluster(`x${i}`);
      await updateKubeconfigFile(file, add(`k${i}`));
    }
    await kubectl(["config", "set-credentials", "x-user", "--token=t"]);
    await updateKubeconfigFile(file, (c) => removeCluster(c, "k0").config);
    const expected = ["prod", "x0", "k3box-k1", "x1", "k3box-k2", "x2", "k3box-k3", "x3", "k3box-k4", "x4"];
    expect((await names(file)).sort()).toEqual(expected.sort());
    expect((await readKubeconfigFile(file)).users.map((u) => u.name).sort()).toEqual(
      ["admin@k3box-k1", "admin@k3box-k2", "admin@k3box-k3", "admin@k3box-k4", "prod", "x-user"].sort(),
    );
    // kubectl reads what we wrote, including the fields it does not know.
    const { stdout } = await run("kubectl", ["--kubeconfig", file, "config", "view", "--raw", "-o", "json"]);
    const view = JSON.parse(stdout) as { clusters: { name: string }[]; "current-context": string };
    expect(view.clusters.map((c) => c.name).sort()).toEqual(expected.sort());
    expect(view["current-context"]).toBe("k3box-k4");
  });

  it("never drops kubectl's writes when both run at once", async () => {
    await writeFile(file, OTHER_TEXT);
    const ours = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const theirs = Array.from({ length: 10 }, (_, i) => `x${i}`);
    // One kubectl at a time: kubectl computes its change from a read taken
    // before it locks and, under the lock, deletes every entry missing from
    // that read (client-go ModifyConfig), so concurrent kubectls lose each
    // other's entries, and may lose ours too. That half is kubectl's to fix.
    // Ours re-read the file under the lock, so nothing kubectl wrote is lost.
    const kubectls = (async () => {
      for (const n of theirs) await setCluster(n);
    })();
    // Spread ours over the kubectls' run so that they overlap.
    const spread = (n: string) => sleep(Math.random() * 400).then(() => updateKubeconfigFile(file, add(n)));
    await Promise.all([...ours.map(spread), kubectls]);
    const present = await names(file);
    expect(present).toEqual(expect.arrayContaining(["prod", ...theirs]));
    expect(await readdir(dir)).toEqual(["config"]);
  });
});
