/**
 * What a node will find on this engine, learnt by running its image once, privileged, as k3box
 * runs nodes: the k3s version inside, and what the engine lets a privileged container do.
 */
import { randomBytes } from "node:crypto";
import { K3boxError } from "../../base/errors.js";
import type { Runtime } from "../../runtime/types.js";
import { LABEL } from "../labels.js";
import { type K3sVersion, parseK3sVersion } from "../k3s-version.js";

export interface NodeImageFacts {
  /** Undefined when the image has no k3s that answers `k3s --version`. */
  readonly k3sVersion?: K3sVersion;
  /** Lowering oom_score_adj needs CAP_SYS_RESOURCE, which some engines withhold even from privileged containers. */
  readonly canLowerOomScoreAdj: boolean;
  /** Capabilities a privileged container lacks on this engine, by name. */
  readonly missingCapabilities: readonly string[];
  /** `nf_tables` or `legacy`, as the image's iptables reports it. */
  readonly iptables?: string;
  readonly inotifyMaxUserInstances?: number;
  readonly inotifyMaxUserWatches?: number;
  /** The open-file limit a node's processes start with. */
  readonly openFiles?: number;
  readonly kernel?: string;
  /** Free bytes where the engine keeps containers (the probe's root filesystem). */
  readonly diskFreeBytes?: number;
  /** cgroup controllers a node can use (v1 hierarchies split on commas: `cpu,cpuacct` gives both). */
  readonly cgroupControllers?: readonly string[];
}

/** Linux capability numbers up to 40 (CAP_CHECKPOINT_RESTORE), as /proc/PID/status encodes them. */
const CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
];

// Every probe writes key=value lines; tools the image lacks leave their key out.
const SCRIPT = [
  'echo "k3s=$(k3s --version 2>/dev/null | head -n 1)"',
  'echo "capeff=$(grep ^CapEff: /proc/self/status | tr -d "[:space:]" | cut -d: -f2)"',
  'echo "caplast=$(cat /proc/sys/kernel/cap_last_cap 2>/dev/null)"',
  "if (echo -999 > /proc/self/oom_score_adj) 2>/dev/null; then echo oom=ok; else echo oom=denied; fi",
  'echo "iptables=$(iptables --version 2>/dev/null)"',
  'echo "inotify_instances=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null)"',
  'echo "inotify_watches=$(cat /proc/sys/fs/inotify/max_user_watches 2>/dev/null)"',
  'echo "nofile=$(ulimit -n)"',
  'echo "kernel=$(uname -r)"',
  // cgroup v2 lists its controllers in one file; v1 mounts one hierarchy per controller.
  'echo "controllers=$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || ls /sys/fs/cgroup 2>/dev/null | tr "\n" " ")"',
  'echo "df=$(df -Pk / 2>/dev/null | tail -n 1)"',
].join("\n");

/** The probe is a few shell commands; an image whose shell never returns must not hang a create. */
const PROBE_LIMIT_MS = 60_000;

/** Runs the probe in a throwaway container, removed whatever happens. The image must be present. */
export async function probeNodeImage(runtime: Runtime, image: string, caller: AbortSignal): Promise<NodeImageFacts> {
  const name = `k3box-probe-${randomBytes(4).toString("hex")}`;
  const signal = AbortSignal.any([caller, AbortSignal.timeout(PROBE_LIMIT_MS)]);
  try {
    await runtime.createContainer(
      {
        name,
        image,
        entrypoint: ["/bin/sh", "-c", SCRIPT],
        labels: { [LABEL.managed]: "true", [LABEL.role]: "probe" },
        privileged: true,
        network: "none",
        restartPolicy: "no",
      },
      signal,
    );
    await runtime.startContainer(name, signal);
    const lines: string[] = [];
    // The stream ends when the script does.
    for await (const line of runtime.logs(name, { follow: true }, signal)) lines.push(line);
    const info = await runtime.inspectContainer(name, signal);
    if (info?.exitCode !== 0 && !lines.some((l) => l.startsWith("oom="))) {
      throw new K3boxError(`cannot probe image ${image} (exit code ${info?.exitCode ?? "?"}): ${lines.slice(-3).join(" | ")}`);
    }
    return parseProbe(lines);
  } catch (err) {
    if (caller.aborted || !signal.aborted) throw err;
    throw new K3boxError(`the probe of image ${image} did not finish within ${PROBE_LIMIT_MS / 1000}s`, { cause: err });
  } finally {
    await runtime.removeContainer(name).catch(() => {});
  }
}

export function parseProbe(lines: readonly string[]): NodeImageFacts {
  const v = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf("=");
    if (i > 0) v.set(l.slice(0, i).trim(), l.slice(i + 1).trim());
  }
  const int = (k: string) => {
    const n = Number.parseInt(v.get(k) ?? "", 10);
    return Number.isFinite(n) ? n : undefined;
  };
  const facts: Mutable<NodeImageFacts> = {
    canLowerOomScoreAdj: v.get("oom") === "ok",
    missingCapabilities: missingCapabilities(v.get("capeff") ?? "", int("caplast")),
  };
  const put = <K extends keyof NodeImageFacts>(k: K, value: NodeImageFacts[K] | undefined) => {
    if (value !== undefined) facts[k] = value;
  };
  put("k3sVersion", parseK3sVersion(v.get("k3s") ?? ""));
  put("iptables", /\((nf_tables|legacy)\)/.exec(v.get("iptables") ?? "")?.[1]);
  put("inotifyMaxUserInstances", int("inotify_instances"));
  put("inotifyMaxUserWatches", int("inotify_watches"));
  put("openFiles", int("nofile"));
  put("kernel", v.get("kernel") || undefined);
  const controllers = (v.get("controllers") ?? "").split(/[\s,]+/).filter(Boolean);
  put("cgroupControllers", controllers.length > 0 ? [...new Set(controllers)] : undefined);
  // POSIX df -Pk: filesystem, 1K-blocks, used, available, capacity, mount point.
  const available = Number.parseInt((v.get("df") ?? "").split(/\s+/)[3] ?? "", 10);
  put("diskFreeBytes", Number.isFinite(available) ? available * 1024 : undefined);
  return facts;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The capabilities the kernel has (up to `lastCap`) that a CapEff mask lacks. */
export function missingCapabilities(capEffHex: string, lastCap = CAPABILITIES.length - 1): string[] {
  if (!/^[0-9a-f]+$/i.test(capEffHex)) return [];
  const mask = BigInt(`0x${capEffHex}`);
  return CAPABILITIES.filter((_, bit) => bit <= lastCap && (mask & (1n << BigInt(bit))) === 0n);
}
