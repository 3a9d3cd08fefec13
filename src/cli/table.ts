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
