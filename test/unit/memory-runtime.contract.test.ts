import { runtimeContract } from "../support/runtime-contract.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";

/** What busybox:latest holds that the contract relies on: its PATH and its default command. */
const BUSYBOX = { env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, cmd: ["sh"] };

runtimeContract("memory engine", ({ prefix }) => {
  const pullable = `127.0.0.1:5000/k3box-test/${prefix}-pulled:1`;
  const runtime = new MemoryRuntime({ images: { "busybox:latest": BUSYBOX }, registry: { [pullable]: BUSYBOX } });
  return {
    runtime,
    image: "busybox:latest",
    scriptProcess(container, script) {
      runtime.program(container, (ctx) => {
        ctx.log(...script.lines);
        if (script.exitCode !== undefined) ctx.exit(script.exitCode);
      });
    },
    scriptExec(container, argv, answer) {
      runtime.onExec(container, argv, ({ stdin, signal }) => answer(stdin, signal));
    },
    resolve: async (from, name) => runtime.resolve(from, name),
    registry: async () => ({ pullable, missing: `127.0.0.1:5000/k3box-test/${prefix}-missing:1` }),
    removeImage: async (ref) => runtime.removeImage(ref),
    cleanup: async () => {},
  };
});
