export default async function globalTeardown() {
  await globalThis.k3boxCluster?.dispose();
}
