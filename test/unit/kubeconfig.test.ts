import { describe, expect, it } from "vitest";
import { KubeconfigError, UsageError } from "../../src/core/errors.js";
import {
  clusterKubeconfig,
  defaultKubeconfigPath,
  emptyKubeconfig,
  mergeKubeconfig,
  parseKubeconfig,
  removeCluster,
  serializeKubeconfig,
  type KubeConfig,
} from "../../src/core/kubeconfig/index.js";
import { K3S_KUBECONFIG } from "./k3s-kubeconfig-fixture.js";

// What k3s writes to K3S_KUBECONFIG_OUTPUT (certificates shortened).

const opts = { clusterName: "dev", server: "https://127.0.0.1:6550" };

function k3box(name: string, port = 6550): KubeConfig {
  return clusterKubeconfig(K3S_KUBECONFIG, { clusterName: name, server: `https://127.0.0.1:${port}` });
}

// A kubeconfig another tool wrote, with fields k3box does not know.
const OTHER = parseKubeconfig(`apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example.com
    certificate-authority: /etc/prod-ca.pem
    extensions:
    - name: vendor
      extension: {region: eu, tier: 1}
  x-note: keep me
- name: k3box-dev
  cluster: {server: "https://127.0.0.1:1111"}
contexts:
- name: prod
  context: {cluster: prod, user: prod-admin, namespace: payments}
- name: k3box-dev
  context: {cluster: k3box-dev, user: admin@k3box-dev}
users:
- name: prod-admin
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws, args: [eks, get-token]}
- name: admin@k3box-dev
  user: {token: old}
current-context: prod
preferences: {colors: true}
extensions:
- name: top
  extension: {a: 1}
`);

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

describe("clusterKubeconfig", () => {
  it("renames k3s' default entries to k3box-NAME and points them at the published API", () => {
    const c = k3box("dev", 40123);
    expect(c).toEqual({
      apiVersion: "v1",
      kind: "Config",
      preferences: {},
      clusters: [
        {
          name: "k3box-dev",
          cluster: { "certificate-authority-data": "Q0EtREFUQQ==", server: "https://127.0.0.1:40123" },
        },
      ],
      contexts: [{ name: "k3box-dev", context: { cluster: "k3box-dev", user: "admin@k3box-dev" } }],
      users: [{ name: "admin@k3box-dev", user: { "client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ" } }],
      "current-context": "k3box-dev",
    });
    expect(serializeKubeconfig(c)).not.toContain("default");
  });

  it("rejects text that is not YAML, naming the line and column", () => {
    const err = catchErr(() => clusterKubeconfig("apiVersion: v1\nclusters: [\n", opts));
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toMatch(/kubeconfig of cluster "dev":\d+:\d+: cannot parse/);
  });

  it.each([
    ["kind: Pod\n", /kind is string "Pod"/],
    ["- a\n- b\n", /document is a list/],
    [
      K3S_KUBECONFIG.replace("certificate-authority-data: Q0EtREFUQQ==", "insecure-skip-tls-verify: true"),
      /no certificate-authority-data/,
    ],
    [K3S_KUBECONFIG.replace(/users:[\s\S]*/, "users: []\n"), /user "default" not found/],
    [K3S_KUBECONFIG.replace(/client-key-data: .*/, ""), /neither client-certificate-data/],
    [K3S_KUBECONFIG.replace("current-context: default", "current-context: other"), /context "other" not found/],
    ["", /current-context is empty and there are 0 contexts/],
  ])("rejects a kubeconfig without what is needed (%#)", (raw, why) => {
    const err = catchErr(() => clusterKubeconfig(raw, opts));
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toMatch(why);
  });

  it.each(["https://0.0.0.0:6443", "https://[::]:6443", "http://127.0.0.1:6443", "127.0.0.1:6443"])(
    "rejects the server URL %s as a usage error",
    (server) => {
      expect(() => clusterKubeconfig(K3S_KUBECONFIG, { clusterName: "dev", server })).toThrow(UsageError);
    },
  );

  it("rejects an empty cluster name", () => {
    expect(() => clusterKubeconfig(K3S_KUBECONFIG, { clusterName: "", server: "https://127.0.0.1:1" })).toThrow(UsageError);
  });
});

function catchErr(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("parseKubeconfig / serializeKubeconfig", () => {
  it("keeps unknown fields and extensions on a round trip", () => {
    const again = parseKubeconfig(serializeKubeconfig(OTHER));
    expect(again).toEqual(OTHER);
    const text = serializeKubeconfig(OTHER);
    expect(text).toContain("x-note: keep me");
    expect(text).toContain("region: eu");
    expect(text).toContain("command: aws");
  });

  it("accepts what kubectl writes for an empty config (null lists)", () => {
    const c = parseKubeconfig(
      'apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n',
    );
    expect(c).toEqual(emptyKubeconfig());
  });

  it("treats empty text as an empty config", () => {
    expect(parseKubeconfig("")).toEqual(emptyKubeconfig());
    expect(parseKubeconfig("\n# nothing\n")).toEqual(emptyKubeconfig());
  });

  it("reads and writes scalars as kubectl's YAML 1.1 does", () => {
    const c = parseKubeconfig(
      "clusters:\n- name: a\n  cluster: {server: 'https://a', insecure-skip-tls-verify: yes, x-date: 2024-01-01, x-time: 1:20}\n",
    );
    expect(c.clusters[0]?.cluster).toEqual({
      server: "https://a",
      "insecure-skip-tls-verify": true,
      "x-date": "2024-01-01",
      "x-time": "1:20",
    });
    // Strings go-yaml v2 would read as booleans must be quoted.
    const out = serializeKubeconfig({ ...emptyKubeconfig(), users: [{ name: "on", user: { username: "yes" } }] });
    expect(out).toContain('name: "on"');
    expect(out).toContain('username: "yes"');
  });

  it("names the source, line and column of a syntax error", () => {
    const err = catchErr(() => parseKubeconfig("apiVersion: v1\nclusters:\n  - name: a\n - bad\n", "/x/config"));
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toMatch(/^\/x\/config:\d+:\d+: cannot parse kubeconfig: /);
  });

  it("rejects duplicate keys like kubectl", () => {
    expect(() => parseKubeconfig("kind: Config\nkind: Config\n", "f")).toThrow(/f:2:1: cannot parse/);
  });

  it.each([
    ["clusters: {a: 1}\n", /clusters is a mapping, not a list/],
    ["clusters: [{cluster: {}}]\n", /clusters\[0\] has no name/],
    ["users: [{name: u, user: [1]}]\n", /users\[0\] \("u"\): user is a list/],
    ["current-context: [a]\n", /current-context is a list/],
    ["apiVersion: v2\n", /apiVersion is string "v2"/],
  ])("rejects a malformed structure (%s)", (text, why) => {
    expect(() => parseKubeconfig(text, "f")).toThrow(why);
  });
});

describe("mergeKubeconfig", () => {
  it("replaces same-name entries in place, keeps the others in order, appends new ones", () => {
    const target = deepFreeze(OTHER);
    const merged = mergeKubeconfig(target, k3box("dev", 2222), { switchContext: false });
    expect(merged.clusters.map((c) => c.name)).toEqual(["prod", "k3box-dev"]);
    expect(merged.clusters[0]).toBe(OTHER.clusters[0]);
    expect(merged.clusters[1]?.cluster?.server).toBe("https://127.0.0.1:2222");
    expect(merged.users.map((u) => u.name)).toEqual(["prod-admin", "admin@k3box-dev"]);
    expect(merged.users[1]?.user?.token).toBeUndefined();
    expect(merged.contexts.map((c) => c.name)).toEqual(["prod", "k3box-dev"]);
    expect(merged.preferences).toEqual({ colors: true });
    expect(merged.extensions).toEqual(OTHER.extensions);

    const added = mergeKubeconfig(merged, k3box("new"), { switchContext: false });
    expect(added.clusters.map((c) => c.name)).toEqual(["prod", "k3box-dev", "k3box-new"]);
    expect(added.users.map((u) => u.name)).toEqual(["prod-admin", "admin@k3box-dev", "admin@k3box-new"]);
  });

  it("switches the current context only when asked", () => {
    expect(mergeKubeconfig(OTHER, k3box("dev"), { switchContext: false })["current-context"]).toBe("prod");
    expect(mergeKubeconfig(OTHER, k3box("dev"), { switchContext: true })["current-context"]).toBe("k3box-dev");
  });

  it("sets the current context when the target has none", () => {
    const merged = mergeKubeconfig(emptyKubeconfig(), k3box("dev"), { switchContext: false });
    expect(merged["current-context"]).toBe("k3box-dev");
  });

  it("collapses duplicate entries of a replaced name into one", () => {
    const dup: KubeConfig = {
      ...emptyKubeconfig(),
      clusters: [{ name: "k3box-dev" }, { name: "a" }, { name: "k3box-dev" }],
    };
    const merged = mergeKubeconfig(dup, k3box("dev"), { switchContext: true });
    expect(merged.clusters.map((c) => c.name)).toEqual(["k3box-dev", "a"]);
  });
});

describe("removeCluster", () => {
  const two = mergeKubeconfig(mergeKubeconfig(OTHER, k3box("a"), { switchContext: true }), k3box("a-b"), {
    switchContext: true,
  });

  it("removes exactly the cluster's three entries and moves current-context to the first remaining context", () => {
    const { config, removed } = removeCluster(deepFreeze(two), "a-b");
    expect(removed).toBe(true);
    expect(config.clusters.map((c) => c.name)).toEqual(["prod", "k3box-dev", "k3box-a"]);
    expect(config.contexts.map((c) => c.name)).toEqual(["prod", "k3box-dev", "k3box-a"]);
    expect(config.users.map((u) => u.name)).toEqual(["prod-admin", "admin@k3box-dev", "admin@k3box-a"]);
    expect(config["current-context"]).toBe("prod");
    expect(config.preferences).toEqual({ colors: true });
  });

  it("leaves current-context alone when it points elsewhere", () => {
    const { config } = removeCluster(two, "a");
    expect(config["current-context"]).toBe("k3box-a-b");
    expect(config.clusters.map((c) => c.name)).toEqual(["prod", "k3box-dev", "k3box-a-b"]);
  });

  it('sets current-context to "" when no context remains', () => {
    const { config, removed } = removeCluster(k3box("only"), "only");
    expect(removed).toBe(true);
    expect(config).toMatchObject({ clusters: [], contexts: [], users: [], "current-context": "" });
  });

  it("reports a missing cluster and returns the config itself", () => {
    const { config, removed } = removeCluster(two, "missing");
    expect(removed).toBe(false);
    expect(config).toBe(two);
  });
});

describe("defaultKubeconfigPath", () => {
  it("takes the first non-empty entry of $KUBECONFIG", () => {
    expect(defaultKubeconfigPath({ KUBECONFIG: "::/a/one:/b/two" }, "/home/u")).toBe("/a/one");
    expect(defaultKubeconfigPath({ KUBECONFIG: "/a/one" }, "/home/u")).toBe("/a/one");
  });

  it("falls back to ~/.kube/config", () => {
    expect(defaultKubeconfigPath({}, "/home/u")).toBe("/home/u/.kube/config");
    expect(defaultKubeconfigPath({ KUBECONFIG: "" }, "/home/u")).toBe("/home/u/.kube/config");
    expect(defaultKubeconfigPath({ KUBECONFIG: ":::" }, "/home/u")).toBe("/home/u/.kube/config");
  });
});
