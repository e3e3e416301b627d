// crushtool does not parse the file as written: it strips `#` comments line by line, squashes
// runs of whitespace to one space, drops blank lines and joins the rest with single spaces
// into one long string, which the grammar then scans. We rebuild that string so keyword and
// number scanning behave exactly like crushtool's (e.g. `id-3` and `weight1.5` are accepted),
// and remember where each character came from so errors can name the original line:column.

export interface JoinedSource {
  /** The whole map as crushtool's grammar sees it. */
  readonly text: string;
  /** For each character of `text` (and one past the end): its 1-based line in the input. */
  readonly lines: Int32Array;
  /** Same, 1-based column. */
  readonly columns: Int32Array;
}

/** C's isspace() in the "C" locale, minus '\n' which getline() already consumed. */
function isBlank(character: string): boolean {
  return (
    character === " " || character === "\t" || character === "\r" || character === "\v" || character === "\f"
  );
}

export function joinSource(source: string): JoinedSource {
  const characters: string[] = [];
  const lines: number[] = [];
  const columns: number[] = [];
  const sourceLines = source.split("\n");
  sourceLines.forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const commentAt = rawLine.indexOf("#");
    const line = commentAt >= 0 ? rawLine.slice(0, commentAt) : rawLine;
    let pendingBlank = false;
    let lineHasText = false;
    for (let column = 0; column < line.length; column++) {
      const character = line[column];
      if (isBlank(character)) {
        pendingBlank = true;
        continue;
      }
      // A blank between two words of the line, or the separator between two joined lines.
      if ((pendingBlank && lineHasText) || (!lineHasText && characters.length > 0)) {
        characters.push(" ");
        lines.push(lineNumber);
        columns.push(column + 1);
      }
      pendingBlank = false;
      lineHasText = true;
      characters.push(character);
      lines.push(lineNumber);
      columns.push(column + 1);
    }
  });
  // End of input is reported just after the last significant character.
  const lastLine = lines.length > 0 ? lines[lines.length - 1] : 1;
  const lastColumn = columns.length > 0 ? columns[columns.length - 1] + 1 : 1;
  lines.push(lastLine);
  columns.push(lastColumn);
  return { text: characters.join(""), lines: Int32Array.from(lines), columns: Int32Array.from(columns) };
}
