/** What a node image tells k3box's probe, scripted for the in-memory engine. */
import type { MemoryRuntime } from "./memory-runtime/index.js";

/** As on an engine that lets privileged containers do everything, with a k3s of this version. */
export function answerProbes(rt: MemoryRuntime, k3s = "v1.35.5+k3s1", lines: readonly string[] = []): void {
  rt.program(/^k3box-probe-/, (p) => {
    p.log(
      `k3s=k3s version ${k3s} (abcdef12)`,
      "capeff=000001ffffffffff",
      "caplast=40",
      "oom=ok",
      "controllers=cpu cpuset memory",
      ...lines,
    );
    p.exit(0);
  });
}
