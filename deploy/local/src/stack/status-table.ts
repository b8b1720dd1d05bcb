/** Plain aligned columns: readable in a terminal and greppable in CI logs. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export interface StatusRow {
  readonly name: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly state: string;
  readonly log: string;
}

export function formatStatus(rows: readonly StatusRow[]): string {
  return formatTable(['SERVICE', 'PORT', 'PID', 'STATE', 'LOG'], rows.map((row) => [row.name, String(row.port), row.pid === undefined ? '-' : String(row.pid), row.state, row.log]));
}
