import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_METRICS } from './metric-names.ts';
import { extractTable, METRICS_DOC_PATH, renderMetricsTable } from './metrics-doc.ts';

describe('docs/METRICS.md', () => {
  it('contains exactly the table generated from metric-names.ts (regenerate: npx tsx src/telemetry/metrics-doc.ts --write)', () => {
    const doc = readFileSync(METRICS_DOC_PATH, 'utf8');
    expect(extractTable(doc)).toBe(renderMetricsTable());
  });
  it('has one row per metric', () => {
    expect(renderMetricsTable().split('\n')).toHaveLength(ALL_METRICS.length + 2);
  });
});
