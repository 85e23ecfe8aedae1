/** A config file as parsed YAML, with what is needed to point at a line, a column and a field. */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";

export type FieldPath = readonly (string | number)[];

export interface Problem {
  readonly path: FieldPath;
  readonly message: string;
  /** Point at the key of the field rather than its value (unknown fields). */
  readonly atKey?: boolean;
}

/** Renders a path as users write it: `options.k3s.extraArgs[0].arg`. */
export function formatPath(path: FieldPath): string {
  return path.reduce<string>(
    (text, part) => (typeof part === "number" ? `${text}[${part}]` : text === "" ? part : `${text}.${part}`),
    "",
  );
}

export class ConfigSource {
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    /** How messages name the file: its path as given, or `<stdin>`. */
    readonly name: string,
    readonly text: string,
    /** Relative paths in the file are taken from here. */
    readonly dir: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  /** YAML syntax errors, each at its position. */
  syntaxErrors(): string[] {
    return [...this.doc.errors].map((e) => {
      const { line, col } = this.lines.linePos(e.pos[0]);
      return `${this.name}:${line}:${col}: ${e.message.split("\n")[0]}`;
    });
  }

  /** `FILE:LINE:COL: PATH`: where a field is, or its nearest existing parent when it is missing. */
  locate(path: FieldPath, atKey = false): string {
    const field = formatPath(path);
    return `${this.locateOffset(this.offsetOf(path, atKey))}${field === "" ? "" : `: ${field}`}`;
  }

  /** `FILE:LINE:COL` of an offset in the text. */
  locateOffset(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${this.name}:${line}:${col}`;
  }

  format(problem: Problem): string {
    return `${this.locate(problem.path, problem.atKey ?? false)}: ${problem.message}`;
  }

  /** Line of a problem, for sorting them in file order. */
  lineOf(problem: Problem): number {
    return this.lines.linePos(this.offsetOf(problem.path, problem.atKey ?? false)).line;
  }

  private offsetOf(path: FieldPath, atKey: boolean): number {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (const [i, part] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
        if (!pair) break;
        const keyStart = rangeStart(pair.key);
        node = pair.value;
        offset = (last && atKey ? keyStart : (rangeStart(node) ?? keyStart)) ?? offset;
      } else if (isSeq(node) && typeof part === "number") {
        node = node.items[part];
        if (node === undefined) break;
        offset = rangeStart(node) ?? offset;
      } else {
        break;
      }
    }
    return offset;
  }
}

function rangeStart(node: unknown): number | undefined {
  if (isPair(node)) return rangeStart(node.key);
  return (node as Node | null | undefined)?.range?.[0];
}
