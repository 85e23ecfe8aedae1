import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { specFromInspect, toCreateOptions } from "../../src/runtime/docker/translate.js";
import type { ContainerSpec } from "../../src/runtime/types.js";

describe("specFromInspect", () => {
  it("gives back what toCreateOptions sent, ignoring the image's anonymous volumes and the engine's ID alias", () => {
    const spec: ContainerSpec = {
      name: "k3box-c-server-0",
      image: "img",
      hostname: "k3box-c-server-0",
      entrypoint: ["/bin/entry"],
      cmd: ["server", "--cluster-init"],
      env: { K3S_TOKEN: "t" },
      labels: { a: "b" },
      privileged: true,
      tmpfs: ["/run", "/var/run"],
      mounts: [
        { type: "volume", source: "k3box-c-server-0-data", target: "/var/lib/rancher/k3s", readOnly: false },
        { type: "bind", source: "/src", target: "/dst", readOnly: true, options: ["rshared"] },
      ],
      ports: [{ containerPort: 6443, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 6550 }],
      network: "k3box-c",
      networkAliases: ["k3box-c-server-0"],
      restartPolicy: "unless-stopped",
      init: false,
    };
    const sent = toCreateOptions(spec);
    const inspect = {
      Id: "0123456789abcdef",
      Name: `/${spec.name}`,
      Config: { ...sent, Hostname: spec.hostname },
      HostConfig: sent.HostConfig,
      Mounts: [{ Type: "volume", Name: "anon", Destination: "/var/lib/kubelet", RW: true }],
      NetworkSettings: { Networks: { "k3box-c": { Aliases: ["k3box-c-server-0", "0123456789ab"], IPAddress: "" } } },
      State: { Status: "created", Running: false },
    } as unknown as Docker.ContainerInspectInfo;
    expect(specFromInspect(inspect)).toEqual(spec);
  });
});
