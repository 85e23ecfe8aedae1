// Writes data/k3s-images.json: the add-on images of each k3s release, from the k3s-images.txt that
// k3s attaches to every GitHub release. Needs internet access; k3box itself reads only the file.
//
//   node scripts/k3s-images.mjs                      # fetch again every release the file lists
//   node scripts/k3s-images.mjs v1.36.3+k3s1 ...     # add or refresh these releases
//
// Releases not fetched keep their entry as it is. The file is sorted newest first.
import { readFileSync, writeFileSync } from "node:fs";

const FILE = new URL("../data/k3s-images.json", import.meta.url);
const VERSION = /^v(\d+)\.(\d+)\.(\d+)(-rc\d+)?\+k3s(\d+)$/;

const data = JSON.parse(readFileSync(FILE, "utf8"));
const wanted = process.argv.slice(2);
for (const v of wanted) {
  if (!VERSION.test(v)) {
    console.error(`not a k3s release version: "${v}" (expected e.g. v1.35.5+k3s1)`);
    process.exit(2);
  }
}
const versions = wanted.length > 0 ? wanted : data.releases.map((r) => r.version);

const byVersion = new Map(data.releases.map((r) => [r.version, r]));
for (const version of versions) {
  const url = `https://github.com/k3s-io/k3s/releases/download/${encodeURIComponent(version)}/k3s-images.txt`;
  const res = await fetch(url, { redirect: "follow" });
  if (!res.ok) {
    console.error(`${version}: GET ${url}: HTTP ${res.status}`);
    process.exit(1);
  }
  const images = (await res.text())
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (images.length === 0) {
    console.error(`${version}: ${url} lists no image`);
    process.exit(1);
  }
  byVersion.set(version, { version, kind: "release-asset", source: url, images });
  console.log(`${version}: ${images.length} images`);
}

// A release candidate comes before its release.
const key = (v) =>
  VERSION.exec(v)
    .slice(1)
    .map((p, i) => (i === 3 ? (p ? Number(p.slice(3)) : Number.MAX_SAFE_INTEGER) : Number(p)));
const newestFirst = (a, b) => {
  const [x, y] = [key(a.version), key(b.version)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i] - x[i];
  return 0;
};
data.releases = [...byVersion.values()].sort(newestFirst);
writeFileSync(FILE, JSON.stringify(data, null, 2) + "\n");
