/**
 * "Ready" holds on the double as on real k3s: a node that goes down after its milestone fails the
 * operation, named as the cause; k3box adapts the nodes to the engine it finds, says so, and records it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, leftovers } from "./helpers.js";

const engineCgroup = (await docker(["info", "--format", "{{.CgroupVersion}}"])).stdout.trim();
/** What the engine really lets a privileged container do, asked without k3box. */
const capEff = (
  await docker(["run", "--rm", "--privileged", "--entrypoint", "/bin/sh", DOUBLE_IMAGE, "-c", "grep CapEff /proc/self/status"])
).stdout;
const hasSysResource = (BigInt(`0x${capEff.split(":")[1]?.trim() ?? "0"}`) & (1n << 24n)) !== 0n;

describe("a node that goes down after its milestone", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.create();
  });
  afterAll(async () => {
    await sb.dispose();
  });

  it("fails create at once with exit 7, naming that node and its error lines, even while another node is waited for", async () => {
    const name = sb.name("crash");
    const r = await sb.k3box([
      "cluster",
      "create",
      name,
      "-a",
      "1",
      "-i",
      DOUBLE_IMAGE,
      // The server dies right after "k3s is up and running", while the agent is still coming up:
      // the agent is held back so that the server's end comes first however fast the machine is.
      "-e",
      "K3S_DOUBLE_EXIT_AFTER_READY_MS=300@server:0",
      "-e",
      "K3S_DOUBLE_START_DELAY_MS=8000@agent:0",
      "--timeout",
      "3m",
    ]);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(new RegExp(`error: node k3box-${name}-server-0 (restarted|exited with code 0) after it was up`));
    expect(r.stderr).toContain("injected exit 300 ms after ready");
    expect(r.stderr).not.toMatch(/waiting for node .*agent-0/);
    expect(await leftovers(name)).toEqual([]);
  });
});

describe.skipIf(engineCgroup !== "1")(`adaptations on this engine (cgroup v${engineCgroup})`, () => {
  let sb: Sandbox;
  let name: string;
  let create: { code: number; stderr: string };
  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("adapt");
    create = await sb.k3box(["cluster", "create", name, "-a", "1", "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
  });
  afterAll(async () => {
    await sb.dispose();
  });

  it("comes up on cgroup v1 with a Kubernetes 1.35 kubelet because k3box passed fail-cgroupv1=false, and says so once", () => {
    expect(create.code, create.stderr).toBe(0);
    const notes = create.stderr.split("\n").filter((l) => l.includes("refuses by default"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("--kubelet-arg=fail-cgroupv1=false");
  });

  it("records the adaptations on every node and shows them in cluster get", async () => {
    for (const node of [`k3box-${name}-server-0`, `k3box-${name}-agent-0`]) {
      const r = await docker(["inspect", "-f", '{{index .Config.Labels "dev.k3box.adaptations"}} {{json .Config.Cmd}}', node]);
      expect(r.stdout).toContain('"cgroupv1"');
      expect(r.stdout).toContain("--kubelet-arg=fail-cgroupv1=false");
      expect(r.stdout).toContain("--kube-proxy-arg=conntrack-max-per-core=0");
    }
    const get = await sb.k3box(["cluster", "get", name, "-o", "json"]);
    expect((JSON.parse(get.stdout) as { adaptations: string[] }).adaptations).toContain("cgroupv1");
  });

  it.skipIf(hasSysResource)(
    "gives containerd the oom_score_adj drop-in where the engine withholds CAP_SYS_RESOURCE",
    async () => {
      const path = "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.d/50-k3box-restrict-oom-score-adj.toml";
      const file = await docker(["exec", `k3box-${name}-agent-0`, "cat", path]);
      expect(file.stdout).toContain("restrict_oom_score_adj = true");
      // The double fails pod sandboxes without it, and says so in its log.
      const log = await docker(["logs", `k3box-${name}-server-0`]);
      expect(log.stdout + log.stderr).not.toContain("RunPodSandbox from runtime service failed");
    },
  );

  it("applies them the same way to a node added later", async () => {
    const added = await sb.k3box(["node", "create", "--cluster", name, "--role", "agent", "--timeout", "3m"]);
    expect(added.code, added.stderr).toBe(0);
    const r = await docker([
      "inspect",
      "-f",
      '{{index .Config.Labels "dev.k3box.adaptations"}} {{json .Config.Cmd}}',
      `k3box-${name}-agent-1`,
    ]);
    expect(r.stdout).toContain("--kubelet-arg=fail-cgroupv1=false");
  });

  it("switched off, the kubelet's refusal fails create with exit 7 and the kubelet's own words", async () => {
    const off = sb.name("noadapt");
    const r = await sb.k3box(["cluster", "create", off, "-i", DOUBLE_IMAGE, "--timeout", "3m"], {
      K3BOX_ADAPT_CGROUPV1: "false",
    });
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain(`node k3box-${off}-server-0`);
    expect(r.stderr).toContain("kubelet is configured to not run on a host using cgroup v1");
    expect(await leftovers(off)).toEqual([]);
  });
});

describe("k3box doctor", () => {
  it("reports this engine's cgroup version and what privileged containers lack, and exits 0 without a blocker", async () => {
    const sb = await Sandbox.create();
    try {
      const r = await sb.k3box(["doctor", "-i", DOUBLE_IMAGE, "-o", "json"]);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; found: string }[]; blockers: number };
      const check = (id: string) => report.checks.find((c) => c.id === id);
      expect(report.blockers).toBe(0);
      expect(check("cgroup")?.found).toContain(`cgroup v${engineCgroup}`);
      expect(check("cgroup")?.status).toBe(engineCgroup === "1" ? "adapted" : "ok");
      if (hasSysResource) expect(check("capabilities")?.found).not.toContain("SYS_RESOURCE");
      else expect(check("capabilities")).toMatchObject({ status: "adapted", found: expect.stringContaining("CAP_SYS_RESOURCE") });
      const text = await sb.k3box(["doctor", "-i", DOUBLE_IMAGE]);
      expect(text.stdout).toMatch(/^\S+\s+engine\s+docker /m);
    } finally {
      await sb.dispose();
    }
  });
});
