import { execFileSync } from "node:child_process";

/** Builds the test images once per run; Docker's layer cache makes repeats cheap. */
export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build:double"], { stdio: "inherit" });
}
