/**
 * What k3box changes in its nodes so that k3s runs on the engine it finds, decided from facts
 * about that engine and the node image. Each one can be switched off; `cluster get` lists those applied.
 */
import type { FileEntry } from "../../runtime/types.js";
import { K3S_DATA_DIR } from "../node/paths.js";
import { atLeast, type K3sVersion } from "../k3s-version.js";
import type { AdaptationName } from "./adaptation-names.js";
import type { NodeImageFacts } from "./probe.js";

export interface Adaptation {
  readonly name: AdaptationName;
  /** Why, for the note printed once per operation. */
  readonly note: string;
  /** k3s arguments every node gets. */
  readonly k3sArgs: readonly string[];
  /** Files every node gets before k3s starts. */
  readonly files: readonly FileEntry[];
}

export interface HostFacts {
  /** As the engine reports it (`1` or `2`); undefined when it does not say. */
  readonly cgroupVersion?: string;
  readonly image: NodeImageFacts;
}

/** containerd 2 reads every file here after its generated config (k3s' `config-v3.toml.d`). */
export const CONTAINERD_DROPIN_DIR = `${K3S_DATA_DIR}/agent/etc/containerd/config-v3.toml.d`;

// containerd reads an imported file without `version` as a version 1 config, where this key lives elsewhere.
const OOM_DROPIN = `# Written by k3box: this engine does not let containers lower oom_score_adj, so containerd must not try.
version = 3

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
`;

/** The adaptations the facts call for, minus those switched off. */
export function chooseAdaptations(facts: HostFacts, off: ReadonlySet<AdaptationName> = new Set()): Adaptation[] {
  const chosen: Adaptation[] = [];
  const version = facts.image.k3sVersion;
  if (facts.cgroupVersion === "1" && version !== undefined && atLeast(version, 1, 31)) {
    chosen.push({
      name: "cgroupv1",
      note: `this engine runs cgroup v1, which the kubelet of Kubernetes ${short(version)} refuses by default: nodes get --kubelet-arg=fail-cgroupv1=false`,
      k3sArgs: ["--kubelet-arg=fail-cgroupv1=false"],
      files: [],
    });
  }
  if (!facts.image.canLowerOomScoreAdj) {
    chosen.push({
      name: "oom-score-adj",
      note: "privileged containers on this engine cannot lower oom_score_adj (no CAP_SYS_RESOURCE): containerd in the nodes gets restrict_oom_score_adj, or no pod could start",
      k3sArgs: [],
      files: [{ path: `${CONTAINERD_DROPIN_DIR}/50-k3box-restrict-oom-score-adj.toml`, content: OOM_DROPIN, mode: 0o644 }],
    });
  }
  // A container cannot raise nf_conntrack_max; kube-proxy then leaves the host's limit alone instead of failing to.
  chosen.push({
    name: "conntrack",
    note: "nodes run in containers, where nf_conntrack_max is read-only: kube-proxy gets --kube-proxy-arg=conntrack-max-per-core=0",
    k3sArgs: ["--kube-proxy-arg=conntrack-max-per-core=0"],
    files: [],
  });
  return chosen.filter((a) => !off.has(a.name));
}

function short(v: K3sVersion): string {
  return `${v.major}.${v.minor}`;
}
