/**
 * `k3box doctor`: what k3box finds on the engine, what it will adapt on its own, and what the user
 * must change. Only a blocker (something no adaptation gets around) fails it.
 */
import { createServer } from "node:net";
import { RuntimeUnavailableError } from "../../base/errors.js";
import type { DoctorCheck, DoctorOptions, DoctorReport } from "../doctor-report.js";
import type { EnginePlace, RuntimeInfo } from "../../runtime/types.js";
import { DEFAULT_K3S_IMAGE } from "../cluster-spec/defaults.js";
import { step } from "../events.js";
import { chooseAdaptations } from "../host/adaptations.js";
import { type NodeImageFacts, probeNodeImage } from "../host/probe.js";
import { ensureImage } from "../images/ensure.js";
import { type Operation, runOperation } from "../operation.js";

/** Below these, k3s (and the workloads on it) run into limits; kind's documentation asks for the same. */
const MIN_INOTIFY_INSTANCES = 512;
const MIN_INOTIFY_WATCHES = 524_288;
const MIN_OPEN_FILES = 65_536;
const LOW_DISK_BYTES = 10 * 2 ** 30;
const NO_DISK_BYTES = 2 * 2 ** 30;
/** What a k3s node cannot run without, whatever k3box adapts. */
const NEEDED_CAPABILITIES = ["SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "MKNOD"];
const NEEDED_CONTROLLERS = ["cpu", "cpuset", "memory"];
const COMMON_PORTS = [6443, 80, 443];

/** The report, blockers included; `blockerError` turns them into the error the CLI exits with. */
export function doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  return runOperation("checking the engine", options, (op) => diagnose(op, options.image ?? DEFAULT_K3S_IMAGE));
}

const NO_ENGINE = "start the engine, or name another with --engine, DOCKER_HOST or a Docker context (docker context use)";

async function diagnose(op: Operation, image: string): Promise<DoctorReport> {
  const { runtime, onEvent, signal } = op;
  const checks: DoctorCheck[] = [];
  let place: EnginePlace;
  let engine: RuntimeInfo;
  try {
    place = await runtime.place();
  } catch (err) {
    if (!(err instanceof RuntimeUnavailableError)) throw err;
    checks.push({ id: "engine", status: "blocker", found: err.message, action: NO_ENGINE });
    return { probeImage: image, checks, blockers: 1 };
  }
  checks.push(endpointCheck(place));
  try {
    engine = await step(onEvent, "engine", () => runtime.info(signal));
  } catch (err) {
    if (!(err instanceof RuntimeUnavailableError)) throw err;
    checks.push({ id: "engine", status: "blocker", found: err.message, action: NO_ENGINE });
    return { place, probeImage: image, checks, blockers: 1 };
  }
  checks.push({
    id: "engine",
    status: "ok",
    found: `${engine.name} ${engine.version} (API ${engine.apiVersion}), ${engine.os}/${engine.arch}`,
  });
  const kind = engineKindCheck(engine);
  if (kind !== undefined) checks.push(kind);
  if (kind?.status === "blocker") return report(place, engine, image, checks);

  let facts: NodeImageFacts | undefined;
  try {
    await ensureImage(runtime, image, onEvent, signal);
    facts = await step(onEvent, "probe", () => probeNodeImage(runtime, image, signal));
  } catch (err) {
    if (signal.aborted) throw err;
    checks.push({
      id: "probe",
      status: "skipped",
      found: `cannot probe with ${image}: ${(err as Error).message}`,
      action: "pass --image with a k3s (node) image the engine has",
    });
  }

  const adapted = facts
    ? new Set(
        chooseAdaptations({ ...(engine.cgroupVersion ? { cgroupVersion: engine.cgroupVersion } : {}), image: facts }).map(
          (a) => a.name,
        ),
      )
    : new Set<string>();
  const cgroup = `cgroup v${engine.cgroupVersion ?? "?"}${engine.cgroupDriver ? `, ${engine.cgroupDriver} driver` : ""}`;
  checks.push(
    engine.cgroupVersion === "1"
      ? adapted.has("cgroupv1")
        ? {
            id: "cgroup",
            status: "adapted",
            found: cgroup,
            action: `the kubelet of ${facts?.k3sVersion?.text ?? "this k3s"} refuses cgroup v1 by default: nodes get --kubelet-arg=fail-cgroupv1=false`,
          }
        : {
            id: "cgroup",
            status: "warning",
            found: cgroup,
            action:
              "cgroup v1 is deprecated; Kubernetes 1.35 and later need fail-cgroupv1=false, which k3box passes when it knows the k3s version",
          }
      : { id: "cgroup", status: "ok", found: cgroup },
  );
  if (!facts) return report(place, engine, image, checks);

  const missing = facts.missingCapabilities;
  const fatal = missing.filter((c) => NEEDED_CAPABILITIES.includes(c));
  if (fatal.length > 0) {
    checks.push({
      id: "capabilities",
      status: "blocker",
      found: `privileged containers lack CAP_${fatal.join(", CAP_")}`,
      action: "k3s cannot run without them: run the engine with full privileges (not in a restricted sandbox)",
    });
  } else if (missing.length > 0) {
    const others = missing.filter((c) => c !== "SYS_RESOURCE");
    const alsoLacking = others.length > 0 ? ` (also CAP_${others.join(", CAP_")}, which k3s does not use)` : "";
    checks.push(
      missing.includes("SYS_RESOURCE")
        ? {
            id: "capabilities",
            status: "adapted",
            found: `privileged containers lack CAP_SYS_RESOURCE${alsoLacking}`,
            action: "pods could not lower oom_score_adj: containerd in the nodes gets restrict_oom_score_adj",
          }
        : {
            id: "capabilities",
            status: "ok",
            found: `privileged containers lack CAP_${others.join(", CAP_")}, which k3s does not use`,
          },
    );
  } else {
    checks.push({ id: "capabilities", status: "ok", found: "privileged containers get every capability" });
  }

  const controllers = facts.cgroupControllers ?? [];
  const lacking = NEEDED_CONTROLLERS.filter((c) => !controllers.includes(c));
  checks.push(
    lacking.length > 0
      ? {
          id: "cgroup-controllers",
          status: "blocker",
          found: `no ${lacking.join(", ")} controller for containers`,
          action: "the kubelet needs cpu, cpuset and memory: enable them on the host",
        }
      : { id: "cgroup-controllers", status: "ok", found: NEEDED_CONTROLLERS.join(", ") },
  );
  checks.push({
    id: "iptables",
    status: "ok",
    found: facts.iptables ?? "unknown",
    action: "nodes use the flavour Docker uses for its own rules",
  });
  const inotify = `max_user_instances ${facts.inotifyMaxUserInstances ?? "?"}, max_user_watches ${facts.inotifyMaxUserWatches ?? "?"}`;
  const lowInotify =
    (facts.inotifyMaxUserInstances ?? Number.POSITIVE_INFINITY) < MIN_INOTIFY_INSTANCES ||
    (facts.inotifyMaxUserWatches ?? Number.POSITIVE_INFINITY) < MIN_INOTIFY_WATCHES;
  checks.push(
    lowInotify
      ? {
          id: "inotify",
          status: "warning",
          found: inotify,
          action: `several nodes share the host's limits: sysctl -w fs.inotify.max_user_instances=${MIN_INOTIFY_INSTANCES} fs.inotify.max_user_watches=${MIN_INOTIFY_WATCHES}`,
        }
      : { id: "inotify", status: "ok", found: inotify },
  );
  const files = facts.openFiles;
  checks.push(
    files !== undefined && files < MIN_OPEN_FILES
      ? {
          id: "open-files",
          status: "warning",
          found: `nofile ${files}`,
          action: `raise the engine's default ulimit (dockerd --default-ulimit nofile=${MIN_OPEN_FILES}:${MIN_OPEN_FILES})`,
        }
      : { id: "open-files", status: "ok", found: `nofile ${files ?? "?"}` },
  );
  const free = facts.diskFreeBytes;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  checks.push(
    free === undefined
      ? { id: "disk", status: "skipped", found: "unknown" }
      : free < NO_DISK_BYTES
        ? {
            id: "disk",
            status: "blocker",
            found: `${gib(free)} free for containers`,
            action: "free disk space where the engine keeps its data",
          }
        : free < LOW_DISK_BYTES
          ? {
              id: "disk",
              status: "warning",
              found: `${gib(free)} free for containers`,
              action: "images and node volumes need several GiB",
            }
          : { id: "disk", status: "ok", found: `${gib(free)} free for containers` },
  );
  if (place.remote !== undefined) {
    checks.push({
      id: "ports",
      status: "skipped",
      found: `the engine's ports are on ${place.remote.host}, not here`,
      action: "k3box asks the engine which host ports are free when it creates a cluster",
    });
    return report(place, engine, image, checks);
  }
  const taken = (await Promise.all(COMMON_PORTS.map(async (p) => ((await portFree(p)) ? undefined : p)))).filter(
    (p) => p !== undefined,
  );
  checks.push(
    taken.length > 0
      ? {
          id: "ports",
          status: "ok",
          found: `in use on 127.0.0.1: ${taken.join(", ")}`,
          action: "k3box picks free host ports unless told which",
        }
      : { id: "ports", status: "ok", found: `${COMMON_PORTS.join(", ")} free on 127.0.0.1` },
  );
  return report(place, engine, image, checks);
}

function report(place: EnginePlace, engine: RuntimeInfo, image: string, checks: DoctorCheck[]): DoctorReport {
  return { place, engine, probeImage: image, checks, blockers: checks.filter((c) => c.status === "blocker").length };
}

/** Which engine and why; a remote one publishes ports on its own host. */
function endpointCheck(place: EnginePlace): DoctorCheck {
  const why = place.reason !== undefined ? ` (${place.reason})` : "";
  return place.remote === undefined
    ? {
        id: "endpoint",
        status: "ok",
        found: `${place.endpoint}${why}`,
        action: "on this machine: ports are published on 127.0.0.1",
      }
    : {
        id: "endpoint",
        status: "ok",
        found: `${place.endpoint}${why}`,
        action: `on ${place.remote.host} (${place.remote.address}), not this machine: the API and ports are published there, and kubeconfigs name ${place.remote.address}`,
      };
}

/** Podman's Docker-compatible API: rootful works, with the differences k3box handles; rootless is refused. */
function engineKindCheck(engine: RuntimeInfo): DoctorCheck | undefined {
  if (engine.rootless) {
    return {
      id: "rootless",
      status: "blocker",
      found: `${engine.name} runs rootless`,
      action:
        "k3s nodes need privileged containers that can manage cgroups, iptables and mounts, which a rootless engine cannot give: use a rootful engine (for Podman: podman system service as root)",
    };
  }
  if (engine.name !== "podman") return undefined;
  return {
    id: "podman",
    status: "adapted",
    found: `Podman's Docker-compatible API (rootful)`,
    action:
      "k3box handles how it differs from Docker (the node image probe without a network, network errors, aliases, container states)",
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
