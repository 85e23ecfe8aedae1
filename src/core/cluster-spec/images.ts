/** Image references as Docker reads them: `[DOMAIN[:PORT]/]PATH[:TAG][@DIGEST]`. */

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const HOST = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)";
// The first part is a registry only when it looks like one: a dot, a port, or localhost.
const DOMAIN = `(?:localhost(?::[0-9]+)?|${HOST}(?:\\.${HOST})+(?::[0-9]+)?|${HOST}:[0-9]+)`;
const REFERENCE = new RegExp(
  `^(?<name>(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*)(?::(?<tag>[\\w][\\w.-]{0,127}))?(?:@(?<digest>[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}))?$`,
);

export interface ImageReference {
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Undefined when `ref` is not a valid image reference. */
export function parseImageReference(ref: string): ImageReference | undefined {
  // Length first: the expression backtracks more the longer a hopeless input is.
  if (ref.length > 255 + 130) return undefined;
  const m = REFERENCE.exec(ref);
  if (!m?.groups) return undefined;
  const { name, tag, digest } = m.groups;
  return { name: name as string, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}
