// Public surface of the pure report layer.
export { renderHtml } from './html.ts';
export { renderMarkdown } from './markdown.ts';
export { renderJunit } from './junit.ts';
export { formatComparison } from './compare-table.ts';
export { buildCharts, type ChartSpec } from './charts.ts';
export { SECTION_IDS } from './sections.ts';
export type { ChartAssets, ReportInput, RunMeta } from './types.ts';
