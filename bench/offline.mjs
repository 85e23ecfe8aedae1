// What a bench needs before it creates a cluster on a machine that cannot pull: the default load
// balancer image is a stand-in built under its name (as the e2e tests do), if it is not there yet.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DEFAULT_LOADBALANCER_IMAGE } from "../dist/index.js";

const STANDIN = fileURLToPath(new URL("../test/fixtures/loadbalancer-standin/build.mjs", import.meta.url));

/** Returns the load balancer image's name once the engine holds it. */
export function loadBalancerImage() {
  execFileSync(process.execPath, [STANDIN, DEFAULT_LOADBALANCER_IMAGE], { stdio: "inherit" });
  return DEFAULT_LOADBALANCER_IMAGE;
}
