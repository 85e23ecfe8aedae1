import { describe, expect, it } from "vitest";
import { NodeFailedError, UsageError } from "../../src/base/errors.js";
import { chooseAdaptations, CONTAINERD_DROPIN_DIR } from "../../src/core/host/adaptations.js";
import { parseK3sVersion } from "../../src/core/k3s-version.js";
import { missingCapabilities, parseProbe, type NodeImageFacts } from "../../src/core/host/probe.js";
import { enabledAddons } from "../../src/core/readiness/cluster.js";
import { parseReadyLevel } from "../../src/core/readiness/levels.js";
import { explainingLines } from "../../src/core/readiness/explain.js";
import { NodeWatchdog } from "../../src/core/readiness/watchdog.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";

const KUBELET_ERROR =
  "Error: failed to validate kubelet configuration, error: kubelet is configured to not run on a host using cgroup v1.";

describe("the log lines that explain a crash", () => {
  it("picks error and fatal lines, once each, then the last lines, rather than the tail alone", () => {
    const run = [
      'time="t1" level=info msg="Starting k3s v1.35.5+k3s1"',
      'time="t2" level=info msg="k3s is up and running"',
      KUBELET_ERROR,
      'time="t3" level=error msg="Shutdown request received: \\"kubelet exited\\""',
    ];
    const lines = [...run, ...run.map((l) => l.replace(/t(\d)/, "u$1")), ...Array.from({ length: 30 }, (_, i) => `noise ${i}`)];
    const picked = explainingLines(lines);
    expect(picked.filter((l) => l === KUBELET_ERROR)).toHaveLength(1);
    expect(picked.filter((l) => l.includes("Shutdown request received"))).toHaveLength(1);
    expect(picked.slice(-5)).toEqual(["noise 25", "noise 26", "noise 27", "noise 28", "noise 29"]);
    expect(picked.some((l) => l.includes("up and running"))).toBe(false);
  });
});

describe("k3s versions", () => {
  it("are read from k3s --version and from image tags alike", () => {
    expect(parseK3sVersion("k3s version v1.35.5+k3s1 (abcdef12)")?.text).toBe("v1.35.5+k3s1");
    expect(parseK3sVersion("rancher/k3s:v1.30.2-k3s2")).toMatchObject({ major: 1, minor: 30, patch: 2, text: "v1.30.2+k3s2" });
    expect(parseK3sVersion("latest")).toBeUndefined();
  });
});

describe("the probe of a node image", () => {
  it("reads the key=value lines, leaving out what the image could not tell", () => {
    const facts = parseProbe([
      "k3s=k3s version v1.35.5+k3s1 (abcdef12)",
      "capeff=000001fffeffffff",
      "caplast=40",
      "oom=denied",
      "iptables=iptables v1.8.9 (nf_tables)",
      "inotify_instances=128",
      "inotify_watches=",
      "nofile=1048576",
      "kernel=6.1.0",
      "controllers=cpu,cpuacct blkio cpuset memory",
      "df=overlay 100000 40000 60000 40% /",
    ]);
    expect(facts).toEqual({
      canLowerOomScoreAdj: false,
      missingCapabilities: ["SYS_RESOURCE"],
      k3sVersion: { major: 1, minor: 35, patch: 5, text: "v1.35.5+k3s1" },
      iptables: "nf_tables",
      inotifyMaxUserInstances: 128,
      openFiles: 1048576,
      kernel: "6.1.0",
      cgroupControllers: ["cpu", "cpuacct", "blkio", "cpuset", "memory"],
      diskFreeBytes: 60000 * 1024,
    });
  });

  it("judges capabilities against what the kernel has", () => {
    // Bits 0-37 set: a kernel whose last capability is 37 lacks nothing; one with 40 lacks the three newest.
    expect(missingCapabilities("3fffffffff", 37)).toEqual([]);
    expect(missingCapabilities("3fffffffff", 40)).toEqual(["PERFMON", "BPF", "CHECKPOINT_RESTORE"]);
    expect(missingCapabilities("not hex")).toEqual([]);
  });
});

describe("adaptations", () => {
  const image = (o: Partial<NodeImageFacts> = {}): NodeImageFacts => ({
    canLowerOomScoreAdj: true,
    missingCapabilities: [],
    k3sVersion: { major: 1, minor: 35, patch: 5, text: "v1.35.5+k3s1" },
    ...o,
  });
  const names = (a: { name: string }[]) => a.map((x) => x.name);

  it("pass fail-cgroupv1=false only on cgroup v1 with a kubelet that knows the flag (1.31 and later)", () => {
    const v1 = chooseAdaptations({ cgroupVersion: "1", image: image() });
    expect(names(v1)).toEqual(["cgroupv1", "conntrack"]);
    expect(v1[0]?.k3sArgs).toEqual(["--kubelet-arg=fail-cgroupv1=false"]);
    expect(names(chooseAdaptations({ cgroupVersion: "2", image: image() }))).toEqual(["conntrack"]);
    const old = image({ k3sVersion: { major: 1, minor: 30, patch: 9, text: "v1.30.9+k3s1" } });
    expect(names(chooseAdaptations({ cgroupVersion: "1", image: old }))).toEqual(["conntrack"]);
    // Never guessed: without a known version, no flag an old kubelet would refuse.
    expect(names(chooseAdaptations({ cgroupVersion: "1", image: image({ k3sVersion: undefined }) }))).toEqual(["conntrack"]);
  });

  it("write the containerd drop-in where oom_score_adj cannot be lowered, and leave out what is switched off", () => {
    const chosen = chooseAdaptations({ cgroupVersion: "2", image: image({ canLowerOomScoreAdj: false }) });
    const oom = chosen.find((a) => a.name === "oom-score-adj");
    expect(oom?.files[0]?.path.startsWith(`${CONTAINERD_DROPIN_DIR}/`)).toBe(true);
    expect(String(oom?.files[0]?.content)).toMatch(
      /\[plugins\.'io\.containerd\.cri\.v1\.runtime'\]\s+restrict_oom_score_adj = true/,
    );
    expect(
      names(
        chooseAdaptations(
          { cgroupVersion: "2", image: image({ canLowerOomScoreAdj: false }) },
          new Set(["oom-score-adj", "conntrack"]),
        ),
      ),
    ).toEqual([]);
  });
});

describe("readiness levels and add-ons", () => {
  it("names the bad level and the good ones", () => {
    expect(parseReadyLevel("Addons")).toBe("addons");
    expect(() => parseReadyLevel("dns")).toThrow(new UsageError('invalid --wait-for "dns": use api, workloads, addons'));
  });

  it("leaves out the add-ons a server disables, in either flag form", () => {
    expect(enabledAddons(["server", "--disable=traefik,metrics-server", "--disable", "local-storage"])).toEqual(["coredns"]);
    expect(enabledAddons(["server"])).toEqual(["coredns", "local-path-provisioner", "metrics-server", "traefik"]);
  });
});

describe("the node watchdog", () => {
  async function running(rt: MemoryRuntime, name: string): Promise<void> {
    await rt.createContainer({ name, image: "node", labels: {}, network: "bridge" });
    await rt.startContainer(name);
  }

  it("fails, naming the node and what it printed, when a node that was up exits", async () => {
    const rt = new MemoryRuntime({ images: { node: {} } });
    await running(rt, "n-server-0");
    await running(rt, "n-agent-0");
    const failures: NodeFailedError[] = [];
    const dog = new NodeWatchdog(rt, (e) => failures.push(e));
    try {
      dog.watch("n-server-0", 0);
      dog.watch("n-agent-0", 0);
      await dog.check();
      rt.log("n-server-0", 'level=info msg="k3s is up and running"', KUBELET_ERROR);
      rt.exitContainer("n-server-0", 0);
      const err = await dog.check().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NodeFailedError);
      expect((err as NodeFailedError).node).toBe("n-server-0");
      expect((err as NodeFailedError).message).toBe("node n-server-0 exited with code 0 after it was up");
      expect((err as NodeFailedError).logTail).toContain(KUBELET_ERROR);
      // The watch itself reports it too, without being asked.
      await expect.poll(() => failures.length, { timeout: 3000 }).toBe(1);
    } finally {
      dog.dispose();
    }
  });
});
