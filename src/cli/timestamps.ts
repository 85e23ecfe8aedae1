/** `--timestamps`: every line written to stderr starts with the time it was written. */
import { Writable } from "node:stream";

/**
 * A stream that prefixes each line with an RFC 3339 time and passes it on. It is no terminal, so
 * progress is written as plain lines (a redrawn spinner has no place in a timestamped log).
 */
export function timestamped(target: NodeJS.WriteStream, now: () => Date = () => new Date()): NodeJS.WriteStream {
  let atLineStart = true;
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      const text = chunk.toString();
      let out = "";
      for (const part of text.split(/(?<=\n)/)) {
        if (part === "") continue;
        if (atLineStart) out += `[${now().toISOString()}] `;
        out += part;
        atLineStart = part.endsWith("\n");
      }
      target.write(out, () => done());
    },
  });
  return stream as unknown as NodeJS.WriteStream;
}
