/**
 * Image names as users type them (`app`, `app:dev`, `library/app`, `docker.io/library/app`)
 * turned into the one form containerd stores: `docker.io/library/app:latest`.
 */
import { UsageError } from "../errors.js";

const DEFAULT_DOMAIN = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/;

export interface ImageReference {
  /** `docker.io/library/app:dev`: what containerd lists. */
  readonly canonical: string;
  /** `app:dev`: what Docker shows and takes. */
  readonly familiar: string;
}

/** Parses a name as `docker` does; a digest reference is refused, since the node keeps images by name. */
export function parseImageReference(input: string): ImageReference {
  const bad = (why: string) => new UsageError(`invalid image name "${input}": ${why}`);
  if (input === "" || input !== input.trim()) throw bad("empty or surrounded by spaces");
  if (input.includes("@")) throw bad("import images by name and tag, not by digest");
  const slash = input.indexOf("/");
  const first = slash < 0 ? "" : input.slice(0, slash);
  const hasDomain = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  let domain = hasDomain ? first : DEFAULT_DOMAIN;
  let rest = hasDomain ? input.slice(slash + 1) : input;
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (!DOMAIN.test(domain)) throw bad(`"${domain}" is not a registry host`);
  let tag = "latest";
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  const components = rest.split("/");
  for (const c of components) {
    if (!COMPONENT.test(c)) throw bad(`"${c}" must be lowercase letters, digits and separators`);
  }
  if (domain === DEFAULT_DOMAIN && components.length === 1) rest = `library/${rest}`;
  const familiarRepo = domain === DEFAULT_DOMAIN ? rest.replace(/^library\/(?=[^/]+$)/, "") : `${domain}/${rest}`;
  return { canonical: `${domain}/${rest}:${tag}`, familiar: `${familiarRepo}:${tag}` };
}
