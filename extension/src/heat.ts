// Heat shading of the generated C: each operator function shaded by its share of the measured
// time. Pure logic (unit-tested); heatDecorations.ts applies it to editors.
import type { OperatorTiming } from './protocol';

export interface SourceMapOperator { index: number; kind: string; function: string; line_start: number; line_end: number }
export interface SourceMap { model: string; source: string; source_sha256?: string; file: string; operators: SourceMapOperator[] }

export const LEVELS = 5;

export interface Shade { function: string; startLine: number; endLine: number; share: number; level: number }

/** The source map beside a generated <name>.c (<name>.kiln.json), or undefined when it is not one. */
export function parseSourceMap(text: string, cFileName: string): SourceMap | undefined {
  try {
    const d = JSON.parse(text);
    if (d && d.file === cFileName && Array.isArray(d.operators)) return d as SourceMap;
  } catch { /* not ours */ }
  return undefined;
}

/** One shade per profiled operator function: 0-based lines, level 1..LEVELS relative to the hottest. */
export function shades(map: SourceMap, timings: OperatorTiming[]): Shade[] {
  const byFunction = new Map(timings.map((t) => [t.function, t]));
  const hottest = Math.max(0, ...timings.map((t) => t.share));
  if (hottest <= 0) return [];
  const out: Shade[] = [];
  for (const op of map.operators) {
    const t = byFunction.get(op.function);
    if (!t || t.share <= 0) continue;
    const level = Math.max(1, Math.min(LEVELS, Math.ceil((t.share / hottest) * LEVELS)));
    out.push({ function: op.function, startLine: op.line_start - 1, endLine: op.line_end - 1, share: t.share, level });
  }
  return out;
}

/** Background of a level: a warm tint whose strength grows with the share (readable on light and dark themes). */
export function levelColor(level: number): string {
  return `rgba(255, 112, 0, ${(0.02 + 0.025 * level).toFixed(2)})`;
}
