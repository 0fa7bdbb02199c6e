/**
 * Horizontal bar charts as plain SVG, one per (group, metric): a bar per row, its value at the end,
 * coloured by kind (baseline grey, rateguard blue, peers orange). An invalid row (bench/answer-check.ts)
 * is a grey hatched bar marked "invalid": at its valid rounds' median if it has one, else a stub.
 * No chart library needed.
 */
import type { Column, Group, RowKind } from './results.js';

const COLOURS: Record<RowKind, string> = { baseline: '#9e9e9e', rateguard: '#1f6feb', peer: '#e8833a' };
const WIDTH = 760;
const LABEL_WIDTH = 330;
const BAR_HEIGHT = 22;
const GAP = 8;
const TOP = 34;
const INVALID_FILL = 'url(#invalid)';
/** Grey diagonal hatching for invalid rows. */
const HATCH =
  '<defs><pattern id="invalid" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
  '<rect width="8" height="8" fill="#e0e0e0"/><line x1="0" y1="0" x2="0" y2="8" stroke="#757575" stroke-width="3"/></pattern></defs>';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function barChart(group: Group, column: Column): string {
  const rows = group.rows.filter((row) => !row.skipped && (row.invalid !== undefined || Number.isFinite(row.median[column.metric])));
  const values = rows.map((row) => row.median[column.metric]).filter((v): v is number => Number.isFinite(v));
  const max = Math.max(...values, Number.MIN_VALUE);
  const barSpace = WIDTH - LABEL_WIDTH - 130;
  const height = TOP + rows.length * (BAR_HEIGHT + GAP) + 10;
  const bars = rows.map((row, i) => {
    const value = row.median[column.metric];
    const known = value !== undefined && Number.isFinite(value);
    const y = TOP + i * (BAR_HEIGHT + GAP);
    const width = known ? Math.max(1, (value / max) * barSpace) : barSpace / 4;
    const figure = known ? value.toLocaleString('en-US', { maximumFractionDigits: column.digits, minimumFractionDigits: column.digits }) : '';
    const text = row.invalid === undefined ? figure : `invalid${known ? ` (${figure})` : ''}`;
    return [
      `<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escapeXml(row.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${row.invalid === undefined ? COLOURS[row.kind] : INVALID_FILL}"/>`,
      `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${y + 15}"${row.invalid === undefined ? '' : ' fill="#b00020"'}>${text}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    HATCH,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${escapeXml(`${group.title}: ${column.label} (median)`)}</text>`,
    ...bars,
    '</svg>',
    '',
  ].join('\n');
}

/** File name of a chart, relative to the charts directory. */
export function chartFile(group: Group, column: Column): string {
  return `${group.id}-${column.metric}.svg`;
}
