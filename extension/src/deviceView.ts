// The device panel's sections as HTML fragments: outputs beside the reference, the per-operator
// latency chart (SVG, with the previous profile as "before" when there is one). Pure (unit-tested);
// devicePanel.ts posts them to the webview, which keeps them across reloads.
import { esc, num } from './html';
import type { DiffResult, OperatorTiming, ProfileResult, RunOutput, RunResult } from './protocol';

export const MAX_VALUES = 64;

export function outputsHtml(run: RunResult): string {
  const steps = run.steps ?? 1;
  const how = steps > 1
    ? `${num(steps)} invocations in sequence from the reset state (${num(run.state_bytes ?? 0)} B of state carried), each compared with TensorFlow Lite Micro's; the table shows the last`
    : 'compared with TensorFlow Lite Micro on the same input';
  const parts = [`<p class="meta">${esc(run.model)} on <b>${esc(run.board)}</b>, ${how}</p>`];
  for (const o of run.outputs) {
    const exact = o.max_abs_diff === 0;
    parts.push(`<h3>${esc(o.name)} <span class="meta">${esc(o.dtype)}[${o.shape.map(esc).join('×')}]</span> `
      + `<span class="${exact ? 'ok' : 'bad'}" data-testid="match">${exact ? 'bit-exact' : `max |diff| ${esc(o.max_abs_diff)}`}</span></h3>`);
    if (o.sequence && o.sequence.length > 1) parts.push(sequenceSvg(o));
    const rows = o.values.slice(0, MAX_VALUES).map((v, i) => {
      const r = o.reference[i];
      const d = r === undefined ? '' : Math.abs(v - r);
      return `<tr${d ? ' class="bad"' : ''}><td>${i}</td><td>${esc(v)}</td><td>${esc(r ?? '–')}</td><td>${esc(d)}</td></tr>`;
    });
    const more = o.values.length > MAX_VALUES ? `<p class="meta">… ${o.values.length - MAX_VALUES} more values</p>` : '';
    parts.push(`<table class="outputs"><thead><tr><th>#</th><th>Kiln</th><th>TFLite Micro</th><th>|diff|</th></tr></thead>`
      + `<tbody>${rows.join('')}</tbody></table>${more}`);
  }
  return parts.join('\n');
}

const SEQ_W = 480;
const SEQ_H = 90;
const SEQ_LINES = 4;

/** An output over the invocations of a sequence: one line per value (the first SEQ_LINES of them). */
export function sequenceSvg(o: RunOutput): string {
  const seq = o.sequence ?? [];
  const n = seq.length;
  const shown = Math.min(SEQ_LINES, seq[0]?.length ?? 0);
  const vals = seq.flatMap((row) => row.slice(0, shown));
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const span = hi - lo || 1;
  const x = (s: number) => (n > 1 ? (s / (n - 1)) * SEQ_W : 0);
  const y = (v: number) => SEQ_H - ((v - lo) / span) * SEQ_H;
  const lines = Array.from({ length: shown }, (_, k) => {
    const pts = seq.map((row, s) => `${x(s).toFixed(1)},${y(row[k]).toFixed(1)}`).join(' ');
    return `<polyline class="seq c${k % 6}" points="${pts}"><title>${esc(o.name)}[${k}] over ${n} invocations</title></polyline>`;
  });
  return `<svg class="sequence" data-testid="sequence" viewBox="0 0 ${SEQ_W} ${SEQ_H}" width="${SEQ_W}" height="${SEQ_H}" `
    + `preserveAspectRatio="none" role="img" aria-label="${esc(o.name)} over the sequence">${lines.join('')}</svg>`
    + `<p class="meta">Across: invocations 0–${n - 1}. Up: values ${num(lo)}–${num(hi)}; the first ${shown} of ${num(seq[0]?.length ?? 0)}.</p>`;
}

const ROW = 22;
const LABEL = 190;
const WIDTH = 640;
const VALUE = 230; // room for "12,345,678 instructions · 33.3%"

/** A profile's figure in its unit, with microseconds only where the count is time. */
export function countText(p: ProfileResult, count: number, micros: number | null | undefined): string {
  const unit = p.unit ?? 'cycles';
  return micros === null || micros === undefined ? `${num(count)} ${unit}` : `${num(count)} ${unit}, ${num(micros, 1)} µs`;
}

/** Horizontal bars, one per operator, in the board's unit; `before` (an earlier profile of the same model) as thin bars. */
export function chartHtml(p: ProfileResult, before?: ProfileResult): string {
  const unit = p.unit ?? 'cycles';
  const prev = new Map((before?.operators ?? []).map((o) => [o.function, o]));
  const max = Math.max(1, ...p.operators.map((o) => o.cycles), ...[...prev.values()].map((o) => o.cycles));
  const span = WIDTH - LABEL - VALUE;
  const bars = p.operators.map((o: OperatorTiming, i) => {
    const y = i * ROW;
    const w = Math.max(1, (o.cycles / max) * span);
    const b = prev.get(o.function);
    const old = b ? `<rect class="before" x="${LABEL}" y="${y + ROW - 7}" width="${Math.max(1, (b.cycles / max) * span).toFixed(1)}" height="4"><title>before: ${num(b.cycles)} ${unit}</title></rect>` : '';
    return `<g class="op" data-function="${esc(o.function)}">`
      + `<text class="label" x="${LABEL - 6}" y="${y + 14}" text-anchor="end">${esc(o.function)}</text>`
      + `<rect class="bar" x="${LABEL}" y="${y + 3}" width="${w.toFixed(1)}" height="${b ? 12 : 15}"><title>${esc(o.function)}: ${countText(p, o.cycles, o.micros)}, ${(100 * o.share).toFixed(1)}%</title></rect>${old}`
      + `<text class="value" x="${LABEL + w + 6}" y="${y + 14}">${num(o.cycles)} ${unit} · ${(100 * o.share).toFixed(1)}%</text></g>`;
  });
  const h = Math.max(ROW, p.operators.length * ROW);
  const legend = before ? `<p class="meta"><span class="swatch bar"></span> now <span class="swatch before"></span> before (${num(before.total.cycles)} ${before.unit ?? 'cycles'} in all)</p>` : '';
  const exact = (p.exact ? ' (exact instruction counts)' : '')
    + (p.steps && p.steps > 1 ? `, means over ${num(p.steps)} invocations in sequence` : '');
  return `<p class="meta">${esc(p.model)} on <b>${esc(p.board)}</b>: ${countText(p, p.total.cycles, p.total.micros)} in all${exact}</p>${legend}`
    + `<svg class="chart" viewBox="0 0 ${WIDTH} ${h}" width="100%" role="img" aria-label="latency per operator">${bars.join('')}</svg>`;
}

/** Layer by layer against TFLite Micro: one row per operator, the first to differ marked; a row
 * with a known line reveals its function in the C when clicked (the panel's script posts the line). */
export function diffHtml(r: DiffResult): string {
  const first = r.first_diverging;
  const verdict = first === null
    ? `<span class="ok" data-testid="diff-verdict">every operator matches TFLite Micro</span>`
    : `<span class="bad" data-testid="diff-verdict">operator ${first} is the first to differ</span>`;
  const over = r.invocations > 1 ? `, over ${num(r.invocations)} invocations in sequence` : '';
  const rows = r.operators.map((o) => {
    const compared = o.max_abs_diff !== null;
    const cls = [o.index === first ? 'first' : '', o.mismatches ? 'bad' : '', o.line !== null ? 'link' : ''].filter(Boolean).join(' ');
    const line = o.line !== null ? ` data-line="${o.line}" title="Show ${esc(o.function)}() in the C"` : '';
    return `<tr class="${cls}" data-testid="diff-row" data-function="${esc(o.function)}"${line}><td>${o.index}</td>`
      + `<td class="fn">${esc(o.function)}</td><td>${esc(o.kind)}</td>`
      + `<td>${compared ? esc(o.max_abs_diff) : '–'}</td>`
      + `<td>${compared ? `${num(o.mismatches)} of ${num(o.elements * r.invocations)}` : 'no output'}</td></tr>`;
  });
  return `<p class="meta">${esc(r.model)} on <b>${esc(r.board)}</b>, each operator's outputs against TensorFlow Lite Micro's on the same input${over} `
    + `(float32 within ${esc(r.tolerance.atol)} + ${esc(r.tolerance.rtol)}·|reference|): ${verdict}</p>`
    + `<table class="outputs diff"><thead><tr><th>#</th><th>function</th><th>kind</th><th>max |diff|</th><th>mismatches</th></tr></thead>`
    + `<tbody>${rows.join('')}</tbody></table>`;
}

/** The commands the panel's buttons may run (on the current model and board): they stay here, where
 * a notification's buttons go once it hides. */
export const PANEL_COMMANDS = ['kiln.flash', 'kiln.run', 'kiln.profile', 'kiln.compareLayers'];

export function shellHtml(cspValue: string, nonce: string, scriptUri: string, styleUri: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(cspValue)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${esc(styleUri)}">
<title>Kiln Device</title></head>
<body id="kiln-device">
<nav class="actions"><button data-command="kiln.flash">Flash</button><button data-command="kiln.run">Run</button><button data-command="kiln.profile">Profile</button><button data-command="kiln.compareLayers">Compare Layer by Layer</button></nav>
<section><h2>Outputs</h2><div id="outputs"><p class="meta">Run or profile a model to see its outputs here.</p></div></section>
<section><h2>Latency per operator</h2><div id="chart"><p class="meta">Profile a model to see where the time goes.</p></div></section>
<section><h2>Layer by layer</h2><div id="diff"><p class="meta">Compare Layer by Layer to find the first operator whose outputs differ from TensorFlow Lite Micro's.</p></div></section>
<section><h2>Device log</h2><pre id="log"></pre></section>
<script nonce="${esc(nonce)}" src="${esc(scriptUri)}"></script>
</body></html>`;
}
