// Plain-TCP listener for a test dockerd: dockerd applies --tlsverify to every TCP address it
// listens on, so the unencrypted tcp://<address>:2375 endpoint is this byte pipe to its unix
// socket, run inside the engine's network namespace. Upgraded connections (attach, exec) pass through.
// Usage: node tcp-forward.mjs <address> <port> <unix socket>
import { connect, createServer } from "node:net";

const [address, port, socketPath] = process.argv.slice(2);
if (!address || !port || !socketPath) {
  process.stderr.write("usage: tcp-forward.mjs <address> <port> <unix socket>\n");
  process.exit(2);
}
// Half-open both ways: the docker CLI closes its write side after an exec's input and still reads the output.
const server = createServer({ allowHalfOpen: true }, (client) => {
  const upstream = connect({ path: socketPath, allowHalfOpen: true });
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
});
server.listen(Number(port), address);
process.on("SIGTERM", () => process.exit(0));
