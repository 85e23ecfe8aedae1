import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { NODE_ENTRYPOINT_PATH, loadNodeEntrypoint } from "../../src/core/node/entrypoint.js";
import { defaultNodeImageTag } from "../../src/core/operations/node-image.js";
import { DEFAULT_K3S_IMAGE } from "../../src/core/cluster-spec/defaults.js";
import { parseImageReference } from "../../src/core/cluster-spec/images.js";

const script = await loadNodeEntrypoint();
const dir = mkdtempSync(join(tmpdir(), "k3box-entrypoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shells to run the script's functions with: the system's, and busybox's (as in rancher/k3s) where installed. */
const SHELLS: Array<{ name: string; argv: string[]; prelude: string }> = [{ name: "sh + awk", argv: ["sh"], prelude: "" }];
try {
  execFileSync("busybox", ["true"]);
  SHELLS.push({ name: "busybox sh + awk", argv: ["busybox", "sh"], prelude: 'awk() { busybox awk "$@"; }\n' });
} catch {
  // no busybox here: the system shell alone
}

/** Runs the script's own merge_hosts function (taken from the file, not a copy). */
function merger(shell: (typeof SHELLS)[number]) {
  return (mode: "hosts" | "coredns", wanted: string, target: string): string => {
    const fn = /^merge_hosts\(\) \{\n[\s\S]*?\n\}\n/m.exec(script)?.[0];
    if (fn === undefined) throw new Error("merge_hosts not found in the entrypoint script");
    writeFileSync(join(dir, "wanted"), wanted);
    writeFileSync(join(dir, "target"), target);
    const [cmd, ...args] = shell.argv as [string, ...string[]];
    return execFileSync(
      cmd,
      [...args, "-c", `${shell.prelude}${fn}\nmerge_hosts "$1" "$2" "$3"`, "sh", mode, join(dir, "wanted"), join(dir, "target")],
      {
        encoding: "utf8",
      },
    );
  };
}

const WANTED = "10.7.7.7 db.internal db\n172.18.0.1 host.k3box.internal\n";

/** Shaped as real k3s stages it: no NodeHosts key (k3s adds it to the stored ConfigMap). */
const K3S_COREDNS = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: coredns
  namespace: kube-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: other
  namespace: kube-system
data:
  x: y
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
    .:53 {
        hosts /etc/coredns/NodeHosts {
          fallthrough
        }
        forward . /etc/resolv.conf
    }
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
`;

function configMaps(yaml: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const doc of parseAllDocuments(yaml)) {
    const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> } | null;
    if (o?.kind === "ConfigMap") out.set(o.metadata?.name ?? "", o.data ?? {});
  }
  return out;
}

describe.each(SHELLS)("the entrypoint's host entry merge ($name)", (shell) => {
  const merge = merger(shell);

  it("adds a NodeHosts key to the coredns ConfigMap when k3s' manifest has none, touching nothing else", () => {
    const merged = merge("coredns", WANTED, K3S_COREDNS);
    const cms = configMaps(merged);
    expect(cms.get("coredns")?.NodeHosts).toBe(WANTED);
    expect(cms.get("coredns")?.Corefile).toBe(configMaps(K3S_COREDNS).get("coredns")?.Corefile);
    expect(cms.get("other")).toEqual({ x: "y" });
    expect(parseAllDocuments(merged)).toHaveLength(4);
  });

  it("replaces stale entries for the same names in an existing NodeHosts and keeps the others", () => {
    const withHosts = K3S_COREDNS.replace(
      "        forward . /etc/resolv.conf\n    }\n",
      "        forward . /etc/resolv.conf\n    }\n  NodeHosts: |\n    172.18.0.2 k3box-c-server-0\n    10.0.0.1 old.db db\n",
    );
    const cms = configMaps(merge("coredns", WANTED, withHosts));
    expect(cms.get("coredns")?.NodeHosts).toBe(`172.18.0.2 k3box-c-server-0\n${WANTED}`);
  });

  it("is idempotent, so a file that has the entries is told apart from a freshly staged one", () => {
    const once = merge("coredns", WANTED, K3S_COREDNS);
    expect(merge("coredns", WANTED, once)).toBe(once);
    expect(once).not.toBe(K3S_COREDNS);
  });

  it("merges into a hosts file: stale lines for the names go, Docker's lines stay", () => {
    const hosts = "127.0.0.1\tlocalhost\n172.18.0.3\tk3box-c-agent-0\n172.17.0.1 host.k3box.internal\n";
    const merged = merge("hosts", WANTED, hosts);
    expect(merged).toBe(`127.0.0.1\tlocalhost\n172.18.0.3\tk3box-c-agent-0\n${WANTED}`);
    expect(merge("hosts", WANTED, merged)).toBe(merged);
  });
});

describe("the entrypoint script and the node image agree", () => {
  it("Dockerfile.node copies the same script to the same path, makes it the entrypoint, and defaults to the same k3s", () => {
    const dockerfile = readFileSync(new URL("../../Dockerfile.node", import.meta.url), "utf8");
    expect(dockerfile).toContain(`COPY images/node/k3box-entrypoint.sh ${NODE_ENTRYPOINT_PATH}\n`);
    expect(dockerfile).toContain(`ENTRYPOINT ["${NODE_ENTRYPOINT_PATH}"]`);
    expect(dockerfile).toContain(`ARG K3S_IMAGE=${DEFAULT_K3S_IMAGE}\n`);
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).toMatch(/\nexec "\$K3S_BIN" "\$@"\n$/);
  });

  it("ships the script and Dockerfile.node in the package", () => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
    });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain("images/node/k3box-entrypoint.sh");
    expect(files).toContain("Dockerfile.node");
    // npm itself takes seconds to start on a loaded machine; the test is about what it packs.
  }, 60_000);
});

describe("image references", () => {
  it.each([
    ["busybox", { name: "busybox" }],
    ["rancher/k3s:v1.35.5-k3s1", { name: "rancher/k3s", tag: "v1.35.5-k3s1" }],
    ["docker.io/rancher/k3s:v1.35.5-k3s1", { name: "docker.io/rancher/k3s", tag: "v1.35.5-k3s1" }],
    ["localhost:5000/a/b_c:1", { name: "localhost:5000/a/b_c", tag: "1" }],
    ["Registry.Example:443/x@sha256:" + "a".repeat(64), { name: "Registry.Example:443/x", digest: "sha256:" + "a".repeat(64) }],
  ])("parses %s", (ref, expected) => {
    expect(parseImageReference(ref)).toEqual(expected);
  });

  it.each(["", "Upper/case", "a b", "x:", "rancher/k3s:v1 ", "a//b", "-a", "a:b:c"])("rejects %j", (ref) => {
    expect(parseImageReference(ref)).toBeUndefined();
  });

  it("names the node image after the k3s tag it is built from", () => {
    expect(defaultNodeImageTag("docker.io/rancher/k3s:v1.35.5-k3s1")).toBe("k3box/node:v1.35.5-k3s1");
    expect(defaultNodeImageTag("rancher/k3s")).toBe("k3box/node:latest");
  });
});
