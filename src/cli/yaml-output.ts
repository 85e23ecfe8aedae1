/** Data as YAML on stdout; its own module so that the YAML library loads only for commands that print YAML. */
import { stringify } from "yaml";

export function toYaml(data: unknown): string {
  return stringify(data);
}
