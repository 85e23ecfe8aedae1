import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ConflictError, UsageError } from "../../src/base/errors.js";
import { assertPortFree, pickFreePort } from "../../src/core/host-ports.js";

describe("host port checks", () => {
  it("a port someone holds is a conflict; an address this host lacks is a usage error", async () => {
    const port = await pickFreePort("127.0.0.1");
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      await expect(assertPortFree("127.0.0.1", port, "--api-port")).rejects.toThrow(ConflictError);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    await expect(assertPortFree("127.0.0.1", port, "--api-port")).resolves.toBeUndefined();
    // TEST-NET-1 (RFC 5737) is never a local address.
    const err = await assertPortFree("192.0.2.1", port, "--api-port").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe("--api-port: address 192.0.2.1 is not on this host");
  });
});
