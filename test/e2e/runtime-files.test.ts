import { describe, expect, it } from "vitest";
import { DockerRuntime } from "../../src/runtime/docker/runtime.js";
import { uniqueName } from "./helpers.js";

describe("Docker runtime: files and container settings read back", () => {
  it("readFileEntry keeps a file's mode, and inspect gives back the settings the container was created with", async () => {
    const runtime = new DockerRuntime();
    const name = uniqueName("k3box-rt");
    try {
      await runtime.createContainer({
        name,
        image: "busybox:latest",
        hostname: name,
        entrypoint: ["/bin/sh"],
        cmd: ["-c", "sleep 1"],
        env: { A: "1" },
        labels: { "dev.k3box.test": name },
        tmpfs: ["/run"],
        network: "bridge",
        restartPolicy: "unless-stopped",
      });
      await runtime.putFiles(name, [{ path: "/opt/k3box/entry.sh", content: "#!/bin/sh\n", mode: 0o755 }]);
      const entry = await runtime.readFileEntry(name, "/opt/k3box/entry.sh");
      expect(entry.mode).toBe(0o755);
      expect(entry.content.toString()).toBe("#!/bin/sh\n");
      const info = await runtime.inspectContainer(name);
      expect(info?.spec).toMatchObject({
        name,
        image: "busybox:latest",
        hostname: name,
        entrypoint: ["/bin/sh"],
        cmd: ["-c", "sleep 1"],
        tmpfs: ["/run"],
        network: "bridge",
        restartPolicy: "unless-stopped",
      });
      expect(info?.spec.env?.A).toBe("1");
    } finally {
      await runtime.removeContainer(name);
    }
  });
});
