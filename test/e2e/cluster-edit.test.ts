import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, dockerJson } from "./helpers.js";
import { containerIds, ingress, lbConfig } from "./lb.js";

async function lbPorts(cluster: string): Promise<Record<string, Array<{ HostIp: string; HostPort: string }>>> {
  const [lb] = await dockerJson<
    Array<{ HostConfig: { PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> } }>
  >(["inspect", `k3box-${cluster}-serverlb`]);
  return lb?.HostConfig.PortBindings ?? {};
}

describe("cluster edit: ports after create", () => {
  let sb: Sandbox;
  let name: string;
  let first: number;
  let second: number;

  const readyz = async () => (await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"])).stdout.trim();

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("edit");
    [first, second] = [await getPort(), await getPort()];
    const r = await sb.k3box(["cluster", "create", name, "-a", "1", "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await sb.dispose();
  });

  it("adds a port: traffic flows through it to the nodes, and the API still answers", async () => {
    expect(await ingress(first)).toBeUndefined();
    const r = await sb.k3box(["cluster", "edit", name, "--port-add", `${first}:80`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await ingress(first)).toMatch(new RegExp(`^k3box-${name}-(server-0|agent-0)$`));
    expect((await lbPorts(name))["80/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(first) }]);
    expect(await readyz()).toBe("ok");
    // One load balancer, under its usual name: the old one is gone.
    expect((await containerIds(name)).length).toBe(3);
  });

  it("deletes one port and adds another in one edit: traffic through the new one, none through the old", async () => {
    const r = await sb.k3box(["cluster", "edit", name, "--port-delete", String(first), "--port-add", `${second}:80@agent:0`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await ingress(second)).toBe(`k3box-${name}-agent-0`);
    expect(await ingress(first)).toBeUndefined();
    const ports = await lbPorts(name);
    expect(ports["80/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(second) }]);
    expect(await lbConfig(name)).toContain(`server k3box-${name}-agent-0:80`);
    expect(await lbConfig(name)).not.toContain(`server k3box-${name}-server-0:80`);
    expect(await readyz()).toBe("ok");
  });

  it("moves a host port to other targets in one edit: deleting it frees it for the add", async () => {
    const r = await sb.k3box(["cluster", "edit", name, "--port-delete", String(second), "--port-add", `${second}:80@server:0`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await ingress(second)).toBe(`k3box-${name}-server-0`);
    const back = await sb.k3box(["cluster", "edit", name, "--port-delete", String(second), "--port-add", `${second}:80@agent:0`]);
    expect(back.code, back.stderr).toBe(0);
    expect(await ingress(second)).toBe(`k3box-${name}-agent-0`);
  });

  describe("bad input changes nothing", () => {
    let blocker: Server;
    let busy: number;
    let before: { ids: string[]; config: string; ports: unknown };

    beforeAll(async () => {
      busy = await getPort();
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(busy, "127.0.0.1", resolve));
      before = { ids: await containerIds(name), config: await lbConfig(name), ports: await lbPorts(name) };
    });
    afterAll(async () => {
      await new Promise((resolve) => blocker.close(resolve));
      expect(await containerIds(name)).toEqual(before.ids);
      expect(await lbConfig(name)).toBe(before.config);
      expect(await lbPorts(name)).toEqual(before.ports);
      expect(await ingress(second)).toBe(`k3box-${name}-agent-0`);
    });

    it("a spec colliding with an existing mapping is a conflict", async () => {
      const r = await sb.k3box(["cluster", "edit", name, "--port-add", `${second}:443`]);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`host port 127.0.0.1:${second}/tcp is already mapped by "${second}:80@agent:0"`);
    });

    it("a host port in use elsewhere is a conflict", async () => {
      const r = await sb.k3box(["cluster", "edit", name, "--port-add", `${busy}:443`]);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`port 127.0.0.1:${busy} is already in use`);
    });

    it("a port sharing a container port with another, but to other nodes, is a usage error", async () => {
      const r = await sb.k3box(["cluster", "edit", name, "--port-add", `${busy + 2}:80`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("both go through the load balancer's 80/tcp listener, to different nodes");
    });

    it("a filter naming a node the cluster does not have is a usage error", async () => {
      const r = await sb.k3box(["cluster", "edit", name, "--port-add", `${busy + 1}:80@agent:5`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("agent:5");
    });

    it("deleting a mapping that does not exist is not found", async () => {
      const r = await sb.k3box(["cluster", "edit", name, "--port-delete", "1"]);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain(`--port-delete "1" matches no port mapping`);
    });

    it("a port on a node directly is refused, saying why", async () => {
      const r = await sb.k3box(["cluster", "edit", name, "--port-add", `${busy + 1}:8080@agent:0:direct`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("Docker cannot add ports to an existing node container");
    });

    it("a new load balancer that cannot start is rolled back to the old one, which serves the API again", async () => {
      // Docker binds UDP host ports only when the container starts: a port held here fails that start.
      const udp = createSocket("udp4");
      const held = await getPort();
      await new Promise<void>((resolve) => udp.bind(held, "127.0.0.1", resolve));
      try {
        const r = await sb.k3box(["cluster", "edit", name, "--port-add", `${held}:53/udp`]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("Rolled back");
        expect(await readyz()).toBe("ok");
      } finally {
        udp.close();
      }
    });

    it("an invalid spec and an unknown cluster", async () => {
      const bad = await sb.k3box(["cluster", "edit", name, "--port-add", "99999:80"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("out of range");
      const missing = sb.name("missing");
      const unknown = await sb.k3box(["cluster", "edit", missing, "--port-add", "80"]);
      expect(unknown.code).toBe(6);
    });
  });
});
