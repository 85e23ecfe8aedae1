// A test process holding a fixture, as a user's test runner would: starts a cluster from the
// options in argv[2] (JSON) through the built `k3box/testing`, applies a ConfigMap named argv[4]
// if given, prints one JSON line about the cluster, then, per argv[3], holds it until killed
// ("hold") or disposes it and exits ("dispose").
import { startCluster } from "k3box/testing";

const [options = "{}", then = "dispose", configMap] = process.argv.slice(2);
const cluster = await startCluster(JSON.parse(options));
if (configMap !== undefined) {
  await cluster.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: configMap }, data: { from: "child" } });
}
// Milliseconds from this process's start until the cluster was ready for the test.
const ready = Math.round(performance.now());
console.log(JSON.stringify({ name: cluster.name, reused: cluster.reused, server: cluster.server, ready }));
if (then === "hold") setInterval(() => {}, 1 << 30);
else await cluster.dispose();
