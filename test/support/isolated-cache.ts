/** Unit tests never write into the real home: k3box's cache goes to a directory of the test run. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), "k3box-unit-cache-"));
