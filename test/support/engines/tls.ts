/**
 * TLS material for a dockerd started with --tlsverify: a CA, a server certificate for the
 * engine's IP, and a client certificate, laid out as DOCKER_CERT_PATH expects (ca.pem, cert.pem, key.pem).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createCA, signLeaf } from "../../fixtures/k3s-double/src/certs.js";

export interface EngineTls {
  /** DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem (the client's). */
  readonly clientDir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export async function createEngineTls(dir: string, address: string): Promise<EngineTls> {
  const ca = await createCA("k3box test engine CA");
  const server = await signLeaf(ca, { cn: address, server: true, sans: [address] });
  const client = await signLeaf(ca, { cn: "k3box test client", client: true });
  const serverDir = join(dir, "server");
  const clientDir = join(dir, "client");
  await mkdir(serverDir, { recursive: true, mode: 0o700 });
  await mkdir(clientDir, { recursive: true, mode: 0o700 });
  const files: Array<[string, string, number]> = [
    [join(serverDir, "ca.pem"), ca.certPem, 0o644],
    [join(serverDir, "cert.pem"), server.certPem, 0o644],
    [join(serverDir, "key.pem"), server.keyPem, 0o600],
    [join(clientDir, "ca.pem"), ca.certPem, 0o644],
    [join(clientDir, "cert.pem"), client.certPem, 0o644],
    [join(clientDir, "key.pem"), client.keyPem, 0o600],
  ];
  for (const [path, text, mode] of files) await writeFile(path, text, { mode });
  return {
    clientDir,
    ca: join(serverDir, "ca.pem"),
    serverCert: join(serverDir, "cert.pem"),
    serverKey: join(serverDir, "key.pem"),
  };
}
