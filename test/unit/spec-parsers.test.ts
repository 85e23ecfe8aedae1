import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { parseDuration } from "../../src/core/spec/duration.js";
import { parseEnvVar, parseK3sArg } from "../../src/core/spec/env.js";
import { parseHostAlias } from "../../src/core/spec/hosts.js";
import { checkFiltersSelect, filterMatches, parseNodeFilters, splitFilterSuffix } from "../../src/core/spec/filters.js";
import { validateClusterName } from "../../src/core/spec/names.js";
import { parsePortMapping } from "../../src/core/spec/ports.js";
import { parseVolumeMount } from "../../src/core/spec/volumes.js";

describe("node filters", () => {
  it.each([
    ["server:0", { role: "server", index: 0 }, true],
    ["server:0", { role: "server", index: 1 }, false],
    ["agent:0,2", { role: "agent", index: 2 }, true],
    ["agent:1-", { role: "agent", index: 7 }, true],
    ["agent:1-", { role: "agent", index: 0 }, false],
    ["agent:-1", { role: "agent", index: 1 }, true],
    ["agent:0-1", { role: "agent", index: 2 }, false],
    ["servers:*", { role: "server", index: 3 }, true],
    ["server", { role: "server", index: 3 }, true],
    ["all", { role: "agent", index: 0 }, true],
    ["loadbalancer", { role: "loadbalancer", index: 0 }, true],
    ["loadbalancer", { role: "server", index: 0 }, false],
    ["server:0;agent:1", { role: "agent", index: 1 }, true],
  ] as const)("%s selects %o: %s", (text, node, expected) => {
    expect(filterMatches(parseNodeFilters(text, "test"), node)).toBe(expected);
  });

  it.each(["nodes:0", "server:a", "loadbalancer:0", "all:1", "server:0;", "agent:3-1", ""])("rejects %j", (text) => {
    expect(() => parseNodeFilters(text, "test")).toThrow(UsageError);
  });

  it("names the bad filter", () => {
    expect(() => parseNodeFilters("nodes:0", 'port mapping "x"')).toThrow('invalid node filter "nodes:0" in port mapping "x"');
  });

  it("splits at the last unescaped @", () => {
    expect(splitFilterSuffix("KEY=a\\@b@server:0")).toEqual({ value: "KEY=a@b", filter: "server:0" });
    expect(splitFilterSuffix("KEY=value")).toEqual({ value: "KEY=value" });
  });
});

describe("port mappings", () => {
  it.each([
    ["80", { hostIp: "127.0.0.1", containerPort: 80, protocol: "tcp" }],
    ["8080:80", { hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80 }],
    ["0.0.0.0:8080:80/udp", { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "udp" }],
    ["127.0.0.1::80", { hostIp: "127.0.0.1", containerPort: 80 }],
    ["[::1]:8443:443", { hostIp: "::1", hostPort: 8443, containerPort: 443 }],
  ])("%s", (raw, expected) => {
    const p = parsePortMapping(raw);
    expect(p).toMatchObject(expected);
    expect(p.filters).toEqual([]);
  });

  it("parses the filter and its suffix", () => {
    const p = parsePortMapping("8080:80@agent:0:direct");
    expect(p.filters).toEqual([{ group: "agent", select: { kind: "list", indices: [0] }, suffix: "direct" }]);
  });

  it.each([
    ["99999", "container port 99999"],
    ["8080:80/sctp", 'invalid protocol "sctp"'],
    ["host:8080:80", 'invalid host address "host"'],
    ["8000-8010:80", "port ranges are not supported"],
    ["a:b:c:d", "invalid port mapping"],
    ["abc", 'invalid container port "abc"'],
  ])("rejects %s naming the value", (raw, message) => {
    expect(() => parsePortMapping(raw)).toThrow(message);
  });
});

describe("volumes", () => {
  it.each([
    ["/data:/data", { source: "/data", destination: "/data" }],
    ["/data:/data:ro@server:0", { source: "/data", destination: "/data", options: "ro" }],
    ["myvol:/var/lib/x", { source: "myvol", destination: "/var/lib/x" }],
    ["/only", { destination: "/only" }],
    ["/only:ro", { destination: "/only", options: "ro" }],
  ])("%s", (raw, expected) => {
    expect(parseVolumeMount(raw, "/cwd")).toMatchObject(expected);
  });

  it("resolves a relative source against the working directory", () => {
    expect(parseVolumeMount("./dir:/mnt", "/work").source).toBe("/work/dir");
  });

  it.each([
    ["relative", 'destination "relative" must be an absolute path'],
    ["/a:/b:bogus", 'unknown mount option "bogus"'],
    ["/a:/b:ro:x", "invalid volume"],
    ["bad name!:/x", "neither a path nor a valid volume name"],
  ])("rejects %s", (raw, message) => {
    expect(() => parseVolumeMount(raw, "/cwd")).toThrow(message);
  });
});

describe("env and k3s args", () => {
  it("parses KEY=VALUE@FILTER", () => {
    expect(parseEnvVar("A=b=c@agent:*")).toMatchObject({ key: "A", value: "b=c" });
  });
  it("takes a bare KEY from the environment", () => {
    expect(parseEnvVar("FOO", { FOO: "bar" }).value).toBe("bar");
    expect(() => parseEnvVar("FOO", {})).toThrow("FOO has no value");
  });
  it("rejects bad keys", () => {
    expect(() => parseEnvVar("1A=x")).toThrow('"1A" is not a valid variable name');
  });
  it("parses k3s args with filters", () => {
    expect(parseK3sArg("--disable=traefik@server:0")).toMatchObject({ arg: "--disable=traefik" });
    expect(() => parseK3sArg("disable=traefik")).toThrow("expected a flag");
  });
});

describe("names and durations", () => {
  it.each(["a", "k3s-default", "a1-b2", "x".repeat(32)])("accepts %s", (n) => {
    expect(validateClusterName(n)).toBe(n);
  });
  it.each(["", "A", "-a", "a-", "a_b", "x".repeat(33), "a.b"])("rejects %j", (n) => {
    expect(() => validateClusterName(n)).toThrow(UsageError);
  });
  it.each([
    ["90s", 90_000],
    ["2m30s", 150_000],
    ["1h", 3_600_000],
    ["500ms", 500],
    ["45", 45_000],
    ["0", undefined],
  ])("%s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it("rejects garbage durations", () => {
    expect(() => parseDuration("5 minutes")).toThrow('invalid duration "5 minutes"');
  });
});

describe("host aliases", () => {
  it("parses IP:NAME[,NAME] and bracketed IPv6", () => {
    expect(parseHostAlias("10.0.0.5:db.local,cache")).toEqual({
      ip: "10.0.0.5",
      names: ["db.local", "cache"],
      raw: "10.0.0.5:db.local,cache",
    });
    expect(parseHostAlias("[fd00::1]:v6.local").ip).toBe("fd00::1");
  });

  it.each([
    ["db.local", /"db.local" is not an IP address/],
    ["10.0.0.300:db", /"10.0.0.300" is not an IP address/],
    ["10.0.0.5:", /expected IP:NAME/],
    ["10.0.0.5:a,,b", /expected IP:NAME/],
    ["10.0.0.5:bad_name", /"bad_name" is not a valid host name/],
  ])("rejects %s naming the bad part", (raw, message) => {
    expect(() => parseHostAlias(raw)).toThrow(UsageError);
    expect(() => parseHostAlias(raw)).toThrow(message);
  });
});

describe("filters against the nodes a cluster has now", () => {
  const nodes = { server: [0], agent: [0, 2], loadBalancer: true };
  it("accepts indices that exist, also past a gap, and ranges that reach one", () => {
    expect(() => checkFiltersSelect(parseNodeFilters("agent:2;agent:1-;server:*", ""), nodes, "--nodes")).not.toThrow();
  });
  it("names the indices there are when one is missing", () => {
    expect(() => checkFiltersSelect(parseNodeFilters("agent:1", ""), nodes, "--nodes")).toThrow(
      'node filter "agent:1" in --nodes selects nothing: the cluster\'s agents are agent:0, agent:2',
    );
    expect(() => checkFiltersSelect(parseNodeFilters("agent:3-", ""), nodes, "--nodes")).toThrow(/selects nothing/);
  });
});
