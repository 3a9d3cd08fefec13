/** Formatting of the command line's reports. */

/** `x` with thousands separators and exactly `digits` decimals. */
export function formatNumber(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Print label/value rows with the values aligned. */
export function printTable(rows: readonly (readonly [string, string])[], out: (line: string) => void): void {
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) out(`${k.padEnd(width)}  ${v}`);
}

/** Print a table with a header row; the first column left-aligned, the others right-aligned. */
export function printColumns(header: readonly string[], rows: readonly (readonly string[])[], out: (line: string) => void): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  out(line(header));
  for (const r of rows) out(line(r));
}
