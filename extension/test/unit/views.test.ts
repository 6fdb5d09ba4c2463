import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartHtml, diffHtml, outputsHtml, PANEL_COMMANDS, shellHtml } from '../../src/deviceView';
import { csp } from '../../src/html';
import type { DiffResult, ProfileResult, ReportResult, RunResult } from '../../src/protocol';
import { reportHtml, timelineSvg } from '../../src/reportView';

const profile = (cycles: number[]): ProfileResult => {
  const total = cycles.reduce((a, b) => a + b, 0);
  return {
    model: 'net', board: 'host', total: { cycles: total, micros: total / 100 }, run: null,
    operators: cycles.map((c, i) => ({ index: i, kind: 'ADD', function: `op00${i}_add`, cycles: c, micros: c / 100, share: c / total, macs: 0 })),
  };
};

test('the chart has one bar per operator, scaled to the slowest', () => {
  const html = chartHtml(profile([100, 300]));
  const widths = [...html.matchAll(/class="bar" x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 2);
  assert.ok(Math.abs(widths[1] / widths[0] - 3) < 0.05, `widths ${widths}`);
  assert.ok(!html.includes('class="before"'));
  assert.match(html, /400 cycles/);
});

test('a second profile of the same model shows the first as "before"', () => {
  const html = chartHtml(profile([50, 300]), profile([100, 300]));
  assert.equal([...html.matchAll(/class="before"/g)].length, 2);
  assert.match(html, /before \(400 cycles in all\)/);
});

test('QEMU counts instructions: the unit everywhere in the chart, and no microseconds', () => {
  const p = profile([1000, 3000]);
  const qemu: ProfileResult = {
    ...p, board: 'qemu-m4', unit: 'instructions', exact: true, total: { ...p.total, micros: null },
    operators: p.operators.map((o) => ({ ...o, micros: null })),
  };
  const html = chartHtml(qemu);
  assert.match(html, /4,000 instructions in all \(exact instruction counts\)/);
  assert.match(html, />1,000 instructions · 25\.0%</);
  assert.match(html, /op000_add: 1,000 instructions, 25\.0%/);
  assert.ok(!html.includes('µs') && !html.includes('cycles'), html);
  assert.match(chartHtml(p), /4,000 cycles, 40\.0 µs in all/); // a board whose count is time keeps its µs
});

test('outputs beside the reference; a mismatch is flagged; names are escaped', () => {
  const run: RunResult = { model: 'm', board: 'host', outputs: [
    { index: 0, name: '<script>', shape: [1, 2], dtype: 'int8', values: [1, 2], reference: [1, 3], max_abs_diff: 1 },
  ] };
  const html = outputsHtml(run);
  assert.ok(!html.includes('<script>'));
  assert.match(html, /&lt;script&gt;/);
  assert.match(html, /max \|diff\| 1/);
  assert.equal([...html.matchAll(/<tr class="bad">/g)].length, 1);
  assert.match(outputsHtml({ ...run, outputs: [{ ...run.outputs[0], reference: [1, 2], max_abs_diff: 0 }] }), /bit-exact/);
});

test('webviews: nothing remote, scripts only by nonce', () => {
  const policy = csp('https://file+.vscode-resource.x', 'abc', true);
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /script-src 'nonce-abc'/);
  assert.ok(!/https?:\/\/(?!file\+)/.test(policy));
  assert.match(csp('s', '', false), /script-src 'none'/);
  const shell = shellHtml(policy, 'abc', 'https://file+.vscode-resource.x/p.js', 's.css');
  assert.match(shell, /<script nonce="abc" src=/);
  assert.match(shell, /Content-Security-Policy/);
  // the panel's own buttons (no inline handlers: the script binds them) name only allowed commands
  const buttons = [...shell.matchAll(/<button data-command="([\w.]+)">/g)].map((m) => m[1]);
  assert.deepEqual(buttons, PANEL_COMMANDS);
  assert.ok(!/onclick/i.test(shell));
});

const report: ReportResult = {
  model: 'net',
  operators: [
    { index: 0, kind: 'CONV_2D', inputs: ['int8[1x8x8x3]'], outputs: ['int8[1x8x8x4]'], constants: [], macs: 6912, weight_bytes: 124, live_bytes: 448 },
    { index: 1, kind: 'SOFTMAX', inputs: ['int8[1x256]'], outputs: ['int8[1x256]'], constants: [], macs: 0, weight_bytes: 0, live_bytes: 512 },
  ],
  inputs: ['int8[1x8x8x3]'], outputs: ['int8[1x256]'],
  totals: { operators: 2, macs: 6912, weight_bytes: 124, arena_bytes: 512, arena_lower_bound: 512 },
  buffers: [
    { name: 'input', offset: 0, size: 192, first: 0, last: 0 },
    { name: 'conv', offset: 256, size: 256, first: 0, last: 1 },
    { name: 'out', offset: 0, size: 256, first: 1, last: 2 },
  ],
  problems: [],
};

test('the report: a row per operator, a block per buffer, totals', () => {
  const html = reportHtml(report, csp('s', '', false), 's.css', 'net.tflite');
  assert.equal([...html.matchAll(/<tr><td>\d+<\/td>/g)].length, 2);
  assert.equal([...html.matchAll(/class="buf c\d"/g)].length, 3);
  assert.match(html, /6,912 MACs/);
  assert.match(html, /arena 512 B \(lower bound 512 B\)/);
  assert.ok(!html.includes('data-testid="problems"'));
});

test('a custom operator\'s options show under its kind', () => {
  const fft: ReportResult = { ...report, operators: [{ ...report.operators[0], kind: 'CUSTOM(SignalRfft)', options: 'fft_length 512, int16' }] };
  const html = reportHtml(fft, csp('s', '', false), 's.css', 'fe.tflite');
  assert.match(html, /CUSTOM\(SignalRfft\)<br><span class="meta">fft_length 512, int16<\/span>/);
});

test('the timeline puts offset 0 at the bottom and spans each buffer\'s lifetime', () => {
  const svg = timelineSvg(report);
  const rects = [...svg.matchAll(/class="buf c\d" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => m.slice(1).map(Number));
  const [input, conv] = rects;
  assert.equal(input[0], 0); // from operator 0
  assert.equal(input[1] + input[3], 220); // offset 0 sits on the bottom edge
  assert.ok(conv[1] < input[1]); // higher offset, higher up
  assert.equal(conv[2], 640); // operators 0..1 of 2: the whole width
  // labelled axes: the arena's offsets up the side, the operators along the bottom
  assert.match(svg, /<div class="axis y"><span>[\d,]+ B<\/span><span class="name">arena offset<\/span><span>0 B<\/span><\/div>/);
  assert.match(svg, /<div class="axis x"><span>operator 0<\/span>.*<span>operator 1<\/span><\/div>/);
});

test('a model Kiln cannot compile: its problems, then what is known', () => {
  const bad: ReportResult = { ...report, buffers: [], problems: ['operator 0 (LSTM) is not supported'],
    operators: [{ ...report.operators[0], kind: 'LSTM', macs: null, live_bytes: null }],
    totals: { ...report.totals, macs: null, arena_bytes: null, arena_lower_bound: null } };
  const html = reportHtml(bad, csp('s', '', false), 's.css', 'lstm.tflite');
  assert.match(html, /data-testid="problems"/);
  assert.match(html, /LSTM\) is not supported/);
  assert.ok(!html.includes('Memory timeline'));
  assert.match(html, /arena –<\/p>/); // nothing known: no bound either
});

test('a stateful model: the state area, part by part, beside the arena', () => {
  const stateful: ReportResult = { ...report, totals: { ...report.totals, state_bytes: 20 },
    state: [{ name: 'CALL_ONCE flag', kind: 'flags', offset: 0, size: 4 },
      { name: "variable 'ring'", kind: 'variable', offset: 8, size: 12, type: 'int8[1x12]' }] };
  const html = reportHtml(stateful, csp('s', '', false), 's.css', 'ring.tflite');
  assert.match(html, /· state 20 B/);
  assert.match(html, /data-testid="state"/);
  assert.match(html, /variable &#39;ring&#39;|variable 'ring'/);
  assert.ok(!reportHtml(report, csp('s', '', false), 's.css', 'net.tflite').includes('data-testid="state"'));
});

test('a sequence: each output over the invocations as lines, the last step in the table', () => {
  const seqRun: RunResult = { model: 'ring', board: 'host', steps: 3, state_bytes: 20, outputs: [
    { index: 0, name: 'y', shape: [1, 2], dtype: 'int8', values: [5, 6], reference: [5, 6], max_abs_diff: 0,
      sequence: [[1, 2], [3, 4], [5, 6]] }] };
  const html = outputsHtml(seqRun);
  assert.match(html, /3 invocations in sequence from the reset state \(20 B of state carried\)/);
  assert.equal([...html.matchAll(/<polyline class="seq c\d"/g)].length, 2);
  assert.match(html, /points="0\.0,90\.0 240\.0,54\.0 480\.0,18\.0"/); // values 1, 3, 5 of 1..6
  const single: RunResult = { ...seqRun, steps: 1, outputs: [{ ...seqRun.outputs[0], sequence: undefined }] };
  assert.ok(!outputsHtml(single).includes('data-testid="sequence"'));
});

test('hostile names from the model are text in the report, never markup', () => {
  const evil = '</script><img src=x onerror=alert(1)>';
  const hostile: ReportResult = { ...report, model: evil, problems: [`operator 0 '${evil}' is not supported`],
    buffers: [{ ...report.buffers[0], name: evil }, { ...report.buffers[1], name: '"quoted" & \'single\'' }] };
  const html = reportHtml(hostile, csp('s', '', false), 's.css', '<b>net</b>.tflite');
  assert.ok(!html.includes('<img') && !html.includes('</script><') && !html.includes('<b>net'));
  assert.match(html, /&lt;\/script&gt;&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(html, /&quot;quoted&quot; &amp; &#39;single&#39;/);
});

test('an arena below the activation peak says why (in-place reuse), not a bare "lower bound"', () => {
  const inPlace: ReportResult = { ...report, totals: { ...report.totals, arena_bytes: 36928, arena_lower_bound: 55328 } };
  const html = reportHtml(inPlace, csp('s', '', false), 's.css', 'net.tflite');
  assert.match(html, /arena 36,928 B \(below the 55,328 B peak of live activations: in-place operators share buffers\)/);
  assert.ok(!html.includes('lower bound'));
});

test('layer by layer: a row per operator, the first to differ marked, rows with a line clickable, names escaped', () => {
  const row = (index: number, mismatches: number, line: number | null, diff: number | null = mismatches ? 7 : 0) => ({
    index, kind: 'CONV_2D', function: `op00${index}_conv_2d`, tensors: ['<t>'], max_abs_diff: diff, mismatches,
    elements: 100, first_step: mismatches ? 0 : null, line,
  });
  const r: DiffResult = { model: 'n<et', board: 'qemu-m4', file: 'file:///w/net.c', invocations: 2, tolerance: { atol: 1e-5, rtol: 1e-4 },
    operators: [row(0, 0, 10), row(1, 40, 30), row(2, 60, null), row(3, 0, 50, null)], first_diverging: 1 };
  const html = diffHtml(r);
  const rows = [...html.matchAll(/<tr class="([^"]*)" data-testid="diff-row" data-function="([^"]+)"( data-line="(\d+)")?/g)];
  assert.deepEqual(rows.map((m) => m[2]), ['op000_conv_2d', 'op001_conv_2d', 'op002_conv_2d', 'op003_conv_2d']);
  assert.deepEqual(rows.map((m) => m[4]), ['10', '30', undefined, '50']);
  assert.match(rows[1][1], /first/);
  assert.match(rows[1][1], /bad/);
  assert.ok(!/first/.test(rows[2][1]) && /bad/.test(rows[2][1]));
  assert.match(html, /operator 1 is the first to differ/);
  assert.match(html, /40 of 200/); // mismatches over both invocations' values
  assert.match(html, /no output/);
  assert.ok(html.includes('n&lt;et') && !html.includes('n<et'));
  const ok = diffHtml({ ...r, operators: [row(0, 0, 1)], first_diverging: null });
  assert.match(ok, /every operator matches TFLite Micro/);
  assert.ok(PANEL_COMMANDS.includes('kiln.compareLayers'));
});
