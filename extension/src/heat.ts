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

const NOT_NAMES = new Set(['__attribute__', '__declspec', 'sizeof', 'alignas', '_Alignas']);

/** A line without comments and string or character literals, and whether a block comment stays open. */
function code(line: string, inComment: boolean): [string, boolean] {
  let out = '';
  let i = 0;
  while (i < line.length) {
    if (inComment) {
      const j = line.indexOf('*/', i);
      if (j < 0) return [out, true];
      inComment = false;
      i = j + 2;
    } else if (line.startsWith('/*', i)) {
      inComment = true;
      i += 2;
    } else if (line.startsWith('//', i)) {
      break;
    } else if (line[i] === '"' || line[i] === "'") {
      const q = line[i++];
      while (i < line.length && line[i] !== q) i += line[i] === '\\' ? 2 : 1;
      i++;
    } else {
      out += line[i++];
    }
  }
  return [out, inComment];
}

/** Each function defined in the C text: name -> [first line, last line], 0-based, from the line naming
 * it to the one closing its body, read from the text as it is now (kiln.lsp.hints.function_spans). */
export function functionSpans(text: string): Map<string, [number, number]> {
  const spans = new Map<string, [number, number]>();
  let depth = 0, inComment = false, pending: [string, number] | undefined, name: string | undefined, start = 0;
  text.split(/\r?\n/).forEach((raw, k) => {
    let c: string;
    [c, inComment] = code(raw, inComment);
    if (depth === 0) {
      const names = [...c.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]).filter((n) => !NOT_NAMES.has(n));
      if (names.length && !pending && !c.trimStart().startsWith('#')) pending = [names[0], k];
      if (pending && c.includes(';') && !c.includes('{')) pending = undefined; // a prototype, not a definition
    }
    for (const ch of c) {
      if (ch === '{') {
        if (depth === 0 && pending) [name, start] = pending;
        depth++;
      } else if (ch === '}' && depth > 0) {
        depth--;
        if (depth === 0) {
          if (name !== undefined && !spans.has(name)) spans.set(name, [start, k]);
          name = undefined;
          pending = undefined;
        }
      }
    }
  });
  return spans;
}

/** The source map's operators where their functions are in `text` now (1-based lines, as in the
 * map); an operator whose function is gone is left out. Without text, the map's own lines. */
export function locate(map: SourceMap, text?: string): SourceMapOperator[] {
  if (text === undefined) return map.operators;
  const spans = functionSpans(text);
  return map.operators.filter((op) => spans.has(op.function))
    .map((op) => ({ ...op, line_start: spans.get(op.function)![0] + 1, line_end: spans.get(op.function)![1] + 1 }));
}

/** One shade per profiled operator function: 0-based lines, level 1..LEVELS relative to the hottest,
 * on the functions as they are in `text` now (edits above, inside or between them move the shades). */
export function shades(map: SourceMap, timings: OperatorTiming[], text?: string): Shade[] {
  const byFunction = new Map(timings.map((t) => [t.function, t]));
  const hottest = Math.max(0, ...timings.map((t) => t.share));
  if (hottest <= 0) return [];
  const out: Shade[] = [];
  for (const op of locate(map, text)) {
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
