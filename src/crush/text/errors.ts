// The one error type the text compiler throws, positioned like a compiler diagnostic.

/** A problem in crushtool text, at `file:line:column` (both 1-based). */
export class CrushSyntaxError extends Error {
  override name = "CrushSyntaxError";
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The message without the `file:line:column: ` prefix. */
  readonly reason: string;

  constructor(file: string, line: number, column: number, reason: string, options?: ErrorOptions) {
    super(`${file}:${line}:${column}: ${reason}`, options);
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}
