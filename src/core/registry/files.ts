/** The registry files every node gets before k3s first starts. */
import { parseNodeFilters } from "../cluster-spec/filters.js";
import type { NodeFile } from "../cluster-spec/types.js";
import { REGISTRIES_YAML_PATH, REGISTRY_HOSTING_MANIFEST_PATH } from "../node/paths.js";
import { mergeRegistries, registryMirrors, renderRegistriesYaml, type RegistriesConfig } from "./config.js";
import { renderHostingManifest } from "./hosting.js";
import type { RegistryEndpoint } from "./types.js";

/**
 * registries.yaml for every k3s node (always, even empty: the file is the record of the
 * registry setup that `node create` copies and `registry connect` updates), and the
 * KEP-1755 manifest for servers. `registries` are in hosting order.
 */
export function registryNodeFiles(registries: readonly RegistryEndpoint[], user: RegistriesConfig | undefined): NodeFile[] {
  const generated = registryMirrors(registries);
  const config = user ? mergeRegistries(generated, user) : generated;
  return [
    {
      destination: REGISTRIES_YAML_PATH,
      content: renderRegistriesYaml(config),
      // A user's config may carry registry credentials.
      mode: 0o600,
      filters: parseNodeFilters("server:*;agent:*", "registries"),
      raw: "registries",
    },
    {
      destination: REGISTRY_HOSTING_MANIFEST_PATH,
      content: renderHostingManifest(registries),
      mode: 0o600,
      filters: parseNodeFilters("server:*", "registries"),
      raw: "registries",
    },
  ];
}
