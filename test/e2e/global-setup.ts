import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DEFAULT_LOADBALANCER_IMAGE } from "../../src/core/cluster-spec/defaults.js";

const LB_STANDIN = fileURLToPath(new URL("../fixtures/loadbalancer-standin/build.mjs", import.meta.url));

/** Builds the test images once per run; Docker's layer cache makes repeats cheap. */
export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build:double"], { stdio: "inherit" });
  // The default load balancer image cannot be pulled here: a stand-in takes its name.
  execFileSync(process.execPath, [LB_STANDIN, DEFAULT_LOADBALANCER_IMAGE], { stdio: "inherit" });
}
