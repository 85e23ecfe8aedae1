/**
 * Container engines other than the local Docker socket, for e2e tests on this machine:
 *
 *   const pre = await prerequisites();                       // skip with pre.podman.reason etc.
 *   const images = [...defaultSeedImages(), await loadBalancerImage()];       // what k3box create needs
 *   const remote = await RemoteDockerEngine.start({ ssh: true, images });
 *   remote.env("tls")      // DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH for the CLI or k3box
 *   remote.docker("ssh")   // a dockerode client over ssh://root@<address>
 *   remote.address         // where its published ports are reached from here
 *   remote.hostAddress     // where its containers reach this machine's published ports
 *   const podman = await PodmanEngine.start({ images: ["busybox:latest"] });
 *   ...
 *   await remote.stop(); await podman.stop();                // in afterAll; idempotent
 *
 * From a vitest global setup, start them in setup() and stop them in the returned teardown; pass
 * hosts to the tests with project.provide. An engine whose test process died is removed by the
 * next start() (sweepStaleEngines).
 */
export { copyImages, defaultSeedImages, dockerHubName, loadBalancerImage, renameAsPulled } from "./images.js";
export { PodmanEngine, type PodmanOptions } from "./podman.js";
export { prerequisites, type Availability, type Prerequisites } from "./prerequisites.js";
export { RemoteDockerEngine, type RemoteDockerOptions, type Transport } from "./remote-docker.js";
export type { SshAccess } from "./sshd.js";
export { sweepStaleEngines } from "./teardown.js";
export { netavarkRules } from "./host.js";
