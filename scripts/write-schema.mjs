// Regenerates schema/k3box-config.schema.json from the schema in src/core/config/schema.ts (run after npm run build).
import { writeFileSync } from "node:fs";
import { k3boxJsonSchema } from "../dist/core/config/schema.js";

writeFileSync(new URL("../schema/k3box-config.schema.json", import.meta.url), JSON.stringify(k3boxJsonSchema(), null, 2) + "\n");
