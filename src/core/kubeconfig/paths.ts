/** Where kubeconfig files are, without reading them (so the CLI can name them without loading YAML). */
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * The file k3box writes: the first non-empty entry of $KUBECONFIG, else
 * ~/.kube/config. kubectl merges all entries when reading, so an entry written
 * to the first file is visible to it whichever files exist.
 */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const first = (env.KUBECONFIG ?? "").split(delimiter).find((p) => p !== "");
  return first ?? join(home, ".kube", "config");
}

/**
 * Where `kubeconfig write` puts a cluster's own kubeconfig: `kubeconfig-CLUSTER.yaml` in
 * $XDG_CONFIG_HOME when it is set (as k3d does, the directory itself), else in ~/.config/DIR.
 */
export function clusterKubeconfigPath(
  dirName: string,
  cluster: string,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  const dir = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : join(home, ".config", dirName);
  return join(dir, `kubeconfig-${cluster}.yaml`);
}
