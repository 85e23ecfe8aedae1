import { describe, expect, it } from "vitest";
import { goDuration, imageCodec, importableFiles, unpackedRefs } from "../../fixtures/k3s-double/src/images.js";
import { humanSize, parseCtrImageList, renderCrictlImages, ctrEnv } from "../../fixtures/k3s-double/src/ctr.js";
import { renderContainerdConfig } from "../../fixtures/k3s-double/src/containerd.js";

describe("image files", () => {
  it("takes k3s' extensions, case-insensitively, without dotfiles, in lexical order", () => {
    expect(
      importableFiles([
        "b.tar",
        "a.TAR.GZ",
        ".hidden.tar",
        "c.tgz",
        "d.tar.zst",
        "e.tzst",
        "f.tar.lz4",
        "g.tar.bz2",
        "h.tbz",
        "i.txt",
        "j.gz",
        "k.zip",
        "B.tar",
      ]),
    ).toEqual(["B.tar", "a.TAR.GZ", "b.tar", "c.tgz", "d.tar.zst", "e.tzst", "f.tar.lz4", "g.tar.bz2", "h.tbz"]);
    expect(imageCodec("x.tar.gz")).toBe("gzip");
    expect(imageCodec("x.tzst")).toBe("zstd");
    expect(imageCodec("x.tbz")).toBe("bzip2");
    expect(imageCodec("x.tar.lz4")).toBe("lz4");
    expect(imageCodec("x.tar")).toBe("none");
  });

  it("reads the refs from ctr's unpacking lines", () => {
    expect(
      unpackedRefs(
        "unpacking docker.io/library/busybox:latest (sha256:1171f3f39f01afb0c38f6e9460523b7d9752462bb39ba05245f98b3cde9c2234)...done\nunpacking docker.io/rancher/x:v1 (sha256:aa)...done\n",
      ),
    ).toEqual(["docker.io/library/busybox:latest", "docker.io/rancher/x:v1"]);
  });

  it("formats durations like Go", () => {
    expect(goDuration(0)).toBe("0s");
    expect(goDuration(1500)).toBe("1.5µs");
    expect(goDuration(523_456_789)).toBe("523.456789ms");
    expect(goDuration(1_500_000_000)).toBe("1.5s");
    expect(goDuration(62_000_000_000)).toBe("1m2s");
  });
});

describe("ctr and crictl helpers", () => {
  it("defaults address, namespace and snapshotter but keeps the caller's", () => {
    expect(ctrEnv({}, "native")).toMatchObject({
      CONTAINERD_ADDRESS: "/run/k3s/containerd/containerd.sock",
      CONTAINERD_NAMESPACE: "k8s.io",
      CONTAINERD_SNAPSHOTTER: "native",
    });
    expect(ctrEnv({ CONTAINERD_NAMESPACE: "default" }, "overlayfs").CONTAINERD_NAMESPACE).toBe("default");
  });

  it("turns ctr's image list into crictl's table", () => {
    const rows = parseCtrImageList(
      "REF                              TYPE                                                 DIGEST                                                                  SIZE    PLATFORMS   LABELS \n" +
        "docker.io/library/busybox:latest application/vnd.docker.distribution.manifest.v2+json sha256:1171f3f39f01afb0c38f6e9460523b7d9752462bb39ba05245f98b3cde9c2234 2.0 MiB linux/amd64 -      \n",
    );
    expect(rows).toEqual([
      {
        ref: "docker.io/library/busybox:latest",
        digest: "sha256:1171f3f39f01afb0c38f6e9460523b7d9752462bb39ba05245f98b3cde9c2234",
        size: "2.0 MiB",
      },
    ]);
    const table = renderCrictlImages(rows, false).split("\n");
    expect(table[0]).toMatch(/^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
    expect(table[1]).toMatch(/^docker\.io\/library\/busybox\s+latest\s+1171f3f39f01a\s+2\.1MB$/);
    expect(humanSize(999)).toBe("999B");
  });

  it("renders containerd's config with CRI disabled and the hosts dir", () => {
    const t = renderContainerdConfig({ dataDir: "/var/lib/rancher/k3s", snapshotter: "native" });
    expect(t).toContain('root = "/var/lib/rancher/k3s/agent/containerd"');
    expect(t).toContain('state = "/run/k3s/containerd"');
    expect(t).toContain('address = "/run/k3s/containerd/containerd.sock"');
    expect(t).toContain('disabled_plugins = ["io.containerd.grpc.v1.cri"]');
    expect(t).toContain('config_path = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d"');
  });
});
