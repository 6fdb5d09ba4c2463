// The model report (the .tflite custom editor): the operators table and the memory timeline.
// Pure (unit-tested): HTML and SVG from kiln/report's answer; no script runs in this webview.
import { bytes, esc, num } from './html';
import type { ReportResult } from './protocol';

const W = 640;
const H = 220;

/** Arena offset (up) against operator step (across): one rectangle per buffer, alive from first to last. */
export function timelineSvg(r: ReportResult): string {
  const steps = Math.max(1, r.operators.length);
  const arena = Math.max(1, r.totals.arena_bytes ?? 0, ...r.buffers.map((b) => b.offset + b.size));
  const x = (s: number) => (s / steps) * W;
  const y = (o: number) => H - (o / arena) * H;
  const rects = r.buffers.map((b, i) => {
    const x0 = x(b.first), x1 = x(Math.min(b.last, steps - 1) + 1);
    const top = y(b.offset + b.size), h = Math.max(1, y(b.offset) - top);
    return `<rect class="buf c${i % 6}" x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${h.toFixed(1)}">`
      + `<title>${esc(b.name)}: ${num(b.size)} B at offset ${num(b.offset)}, operators ${b.first}–${b.last}</title></rect>`;
  });
  // the axes are HTML around the stretched SVG, so their text keeps its shape
  return `<div class="timeline-plot"><div class="axis y"><span>${num(arena)} B</span><span class="name">arena offset</span><span>0 B</span></div>`
    + `<svg class="timeline" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="memory timeline">`
    + `<rect class="frame" x="0" y="0" width="${W}" height="${H}"></rect>${rects.join('')}</svg></div>`
    + `<div class="axis x"><span>operator 0</span><span class="name">operators, in order of execution</span><span>operator ${steps - 1}</span></div>`
    + `<p class="meta">Each block is a tensor: its offset in the arena (up) over the operators it lives through (across). Hover a block for its name.</p>`;
}

export function liveBarsSvg(r: ReportResult): string {
  const max = Math.max(1, ...r.operators.map((o) => o.live_bytes ?? 0));
  const bw = W / Math.max(1, r.operators.length);
  const bars = r.operators.map((o, i) => {
    const h = ((o.live_bytes ?? 0) / max) * 80;
    return `<rect class="live" x="${(i * bw + 0.5).toFixed(1)}" y="${(80 - h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${o.index} ${esc(o.kind)}: ${bytes(o.live_bytes)} live</title></rect>`;
  });
  return `<svg class="live-bars" viewBox="0 0 ${W} 80" preserveAspectRatio="none" role="img" aria-label="live bytes per operator">${bars.join('')}</svg>`;
}

/** Beside the arena: the activation lower bound, or why the arena is below it (in-place reuse). */
export function arenaRemark(arena: number | null | undefined, bound: number | null | undefined): string {
  if (bound === null || bound === undefined || arena === null || arena === undefined) return '';
  if (arena < bound) return `(below the ${bytes(bound)} peak of live activations: in-place operators share buffers)`;
  return `(lower bound ${bytes(bound)})`;
}

export function reportHtml(r: ReportResult, cspValue: string, styleUri: string, fileName: string): string {
  const t = r.totals;
  const problems = r.problems.length
    ? `<div class="problems" data-testid="problems"><b>Kiln cannot compile this model:</b><ul>${r.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></div>` : '';
  const rows = r.operators.map((o) => `<tr><td>${o.index}</td><td>${esc(o.kind)}${o.options ? `<br><span class="meta">${esc(o.options)}</span>` : ''}</td>`
    + `<td>${o.inputs.map(esc).join('<br>')}</td><td>${o.outputs.map(esc).join('<br>')}</td>`
    + `<td class="n">${num(o.macs)}</td><td class="n">${num(o.weight_bytes)}</td><td class="n">${num(o.live_bytes)}</td></tr>`);
  const memory = r.buffers.length ? `<h2>Memory timeline</h2>${timelineSvg(r)}<h2>Live activation bytes per operator</h2>${liveBarsSvg(r)}` : '';
  const state = stateHtml(r);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(cspValue)}">
<link rel="stylesheet" href="${esc(styleUri)}"><title>${esc(fileName)}</title></head>
<body id="kiln-report">
<h1>${esc(r.model)} <span class="meta">${esc(fileName)}</span></h1>
${problems}
<p class="totals">${num(t.operators)} operators · ${num(t.macs)} MACs · ${bytes(t.weight_bytes)} of weights · arena ${[bytes(t.arena_bytes), arenaRemark(t.arena_bytes, t.arena_lower_bound)].filter(Boolean).join(' ')}${t.state_bytes ? ` · state ${bytes(t.state_bytes)}` : ''}</p>
<p class="meta">inputs: ${r.inputs.map(esc).join(', ')}<br>outputs: ${r.outputs.map(esc).join(', ')}</p>
<table class="ops"><thead><tr><th>#</th><th>operator</th><th>inputs</th><th>outputs</th><th>MACs</th><th>weight B</th><th>live B</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
${memory}
${state}
</body></html>`;
}

/** The state area (kept between invocations, apart from the arena): one row per part, by offset. */
export function stateHtml(r: ReportResult): string {
  const parts = r.state ?? [];
  if (!parts.length) return '';
  const rows = parts.map((p) => `<tr><td class="n">${num(p.offset)}</td><td class="n">${num(p.size)}</td>`
    + `<td>${esc(p.name)}</td><td>${esc(p.type ?? '')}</td></tr>`);
  return `<h2 data-testid="state">State kept between invocations: ${bytes(r.totals.state_bytes ?? 0)}</h2>`
    + '<p class="meta">Apart from the arena, which may be shared with other work between invocations; '
    + '<code>_reset()</code> puts it back to its start.</p>'
    + `<table class="ops"><thead><tr><th>offset</th><th>bytes</th><th>what</th><th>type</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function errorHtml(message: string, cspValue: string, styleUri: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(cspValue)}">
<link rel="stylesheet" href="${esc(styleUri)}"></head>
<body id="kiln-report"><div class="problems" data-testid="problems"><b>Kiln cannot read this model.</b><p>${esc(message)}</p></div></body></html>`;
}
