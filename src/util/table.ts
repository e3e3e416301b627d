// Plain-text tables for CLI reports: columns padded to their widest cell, two spaces apart.

/** One line per row; `rightAligned[i]` right-aligns column i (numbers), else left-aligns. */
export function formatTable(rows: string[][], rightAligned: readonly boolean[]): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) =>
        rightAligned[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
      )
      .join("  ")
      .trimEnd(),
  );
}
