/** The adaptations to the engine k3box knows, by the names labels, notes and settings use. */
export const ADAPTATIONS = ["cgroupv1", "oom-score-adj", "conntrack"] as const;
export type AdaptationName = (typeof ADAPTATIONS)[number];
