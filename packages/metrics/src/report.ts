import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';

import { MetricInputError } from './errors.js';

export type ReportValue = string | number | boolean | null;
export type ReportRow = Readonly<Record<string, ReportValue>>;

export interface Column {
  key: string;
  /** Header text; default the key. */
  title?: string;
  /** Digits after the point for numbers; default 2. */
  digits?: number;
  /** Multiply numbers first (100 for percentages). */
  scale?: number;
}

/** A JSON report: the rows plus metadata, stable key order, two-space indent. */
export function jsonReport(rows: readonly ReportRow[], metadata: Readonly<Record<string, unknown>> = {}): string {
  return `${JSON.stringify({ ...metadata, rows }, null, 2)}\n`;
}

/** A GitHub-flavoured markdown table. */
export function markdownTable(rows: readonly ReportRow[], columns?: readonly Column[]): string {
  if (rows.length === 0) throw new MetricInputError('markdownTable', 'no rows');
  const cols: Column[] = columns ? [...columns] : Object.keys(rows[0]!).map((key) => ({ key }));
  const cell = (v: ReportValue | undefined, c: Column) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return Number.isFinite(v) ? (v * (c.scale ?? 1)).toFixed(c.digits ?? 2) : String(v);
    return String(v).replace(/\|/g, '\\|');
  };
  const numeric = cols.map((c) => rows.some((r) => typeof r[c.key] === 'number'));
  const lines = [
    `| ${cols.map((c) => c.title ?? c.key).join(' | ')} |`,
    `| ${cols.map((_, i) => (numeric[i] ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c.key], c)).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

export interface CurvePoint {
  gflops: number;
  accuracy: number;
  /** Optional label drawn beside the point (a budget, a threshold). */
  label?: string;
}

export interface CurveSeries {
  name: string;
  points: readonly CurvePoint[];
}

export interface PlotOptions {
  title?: string;
  width?: number;
  height?: number;
  /** Axis titles. */
  xTitle?: string;
  yTitle?: string;
}

/**
 * Accuracy against GFLOPs per video, one line per method (the papers' main figure), drawn by
 * Vega-Lite and rendered to SVG by Vega's headless view (no browser, no canvas).
 */
export async function accuracyVsGflopsSvg(series: readonly CurveSeries[], options: PlotOptions = {}): Promise<string> {
  if (series.length === 0 || series.every((s) => s.points.length === 0)) throw new MetricInputError('accuracyVsGflopsSvg', 'no points to plot');
  const values = series.flatMap((s) =>
    s.points.map((p, i) => {
      if (!Number.isFinite(p.gflops) || !Number.isFinite(p.accuracy)) {
        throw new MetricInputError('accuracyVsGflopsSvg', `series ${s.name} point ${i} is (${p.gflops}, ${p.accuracy})`);
      }
      return { method: s.name, gflops: p.gflops, accuracy: p.accuracy, label: p.label ?? '' };
    }),
  );
  const encoding = {
    x: { field: 'gflops', type: 'quantitative', title: options.xTitle ?? 'GFLOPs per video', scale: { zero: false } },
    y: { field: 'accuracy', type: 'quantitative', title: options.yTitle ?? 'accuracy (%)', scale: { zero: false } },
    color: { field: 'method', type: 'nominal', title: 'method' },
  } as const;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 480,
    height: options.height ?? 320,
    data: { values },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { ...encoding, order: { field: 'gflops', type: 'quantitative' } } },
      { mark: { type: 'text', dx: 6, dy: -6, align: 'left', fontSize: 9 }, encoding: { ...encoding, text: { field: 'label' } } },
    ],
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
