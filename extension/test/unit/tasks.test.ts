import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionSpans, LEVELS, levelColor, parseSourceMap, shades } from '../../src/heat';
import { cliArgs, outDirFor, problem, taskName, tomlKey } from '../../src/taskArgs';

test('a kiln task definition -> the kiln command line', () => {
  const def = { type: 'kiln' as const, command: 'build' as const, model: 'models/net.tflite' };
  assert.deepEqual(cliArgs(def, 'qemu-m4', '/w/out/net'), ['-P', '-m', 'kiln', 'build', 'models/net.tflite', '--board', 'qemu-m4', '--out', '/w/out/net']);
  assert.deepEqual(cliArgs({ ...def, command: 'flash' }, 'host', 'o').slice(-1), ['--exit']);
  assert.deepEqual(cliArgs({ ...def, command: 'run' }, 'host', 'o').slice(-1), ['--compare']);
  assert.equal(taskName(def, 'host'), 'build models/net.tflite (host)');
});

test('bad task definitions name the field', () => {
  assert.match(problem({ command: 'erase' as never, model: 'a.tflite' })!, /"command": one of build, flash, run, profile \(got "erase"\)/);
  assert.match(problem({ command: 'run', model: 'a.onnx' })!, /"model": a \.tflite file/);
  assert.equal(problem({ command: 'run', model: 'a.tflite' }), undefined);
});

test('the out folder is the one the language server picks', () => {
  assert.equal(outDirFor('models/net.tflite', '/w', '', undefined), '/w/models/kiln_out/net');
  assert.equal(outDirFor('/abs/net.tflite', '/w', '', undefined), '/abs/kiln_out/net');
  assert.equal(outDirFor('models/net.tflite', '/w', 'gen', 'ignored'), '/w/gen/net');
  assert.equal(outDirFor('models/net.tflite', '/w', '', '/tmp/o'), '/tmp/o/net');
  assert.equal(tomlKey('# c\nboard = "qemu-m4"\nout="gen"\n', 'out'), 'gen');
  assert.equal(tomlKey('board = "qemu-m4"', 'out'), undefined);
});

const map = {
  model: 'net', source: 'net.tflite', file: 'net.c',
  operators: [
    { index: 0, kind: 'CONV_2D', function: 'op000_conv_2d', line_start: 10, line_end: 20 },
    { index: 1, kind: 'RELU', function: 'op001_relu', line_start: 22, line_end: 25 },
    { index: 2, kind: 'SOFTMAX', function: 'op002_softmax', line_start: 27, line_end: 30 },
  ],
};
const timing = (f: string, share: number) => ({ index: 0, kind: '', function: f, cycles: 1, micros: 1, share, macs: 0 });

test('heat: levels relative to the hottest function, 0-based lines, unprofiled functions left alone', () => {
  const s = shades(map, [timing('op000_conv_2d', 0.9), timing('op001_relu', 0.1)]);
  assert.deepEqual(s.map((x) => [x.function, x.startLine, x.endLine, x.level]), [['op000_conv_2d', 9, 19, LEVELS], ['op001_relu', 21, 24, 1]]);
  assert.deepEqual(shades(map, []), []);
  assert.ok(levelColor(1) !== levelColor(LEVELS));
});

test('heat: the source map must be the one of this file', () => {
  assert.ok(parseSourceMap(JSON.stringify(map), 'net.c'));
  assert.equal(parseSourceMap(JSON.stringify(map), 'other.c'), undefined);
  assert.equal(parseSourceMap('{not json', 'net.c'), undefined);
});

test('the lines that add a model to the workspace build: offered only where they can go as they are', async () => {
  const { appendedText, offerable, offerLabel } = await import('../../src/buildLines');
  const b = { kind: 'cmake', file: 'file:///w/CMakeLists.txt', lines: ['add_subdirectory(kiln_out/net)', 'target_link_libraries(fw PRIVATE kiln::net)'],
    uses_model: false, tested_here: true, note: '', model: 'net' };
  assert.equal(offerable(b), true);
  assert.equal(offerable({ ...b, uses_model: true }), false);
  assert.equal(offerable({ ...b, kind: 'platformio' }), false);
  assert.equal(offerable({ ...b, lines: ['target_link_libraries(<your target> PRIVATE kiln::net)'] }), false);
  assert.equal(offerable({ ...b, kind: null, file: null }), false);
  assert.equal(appendedText(b, 'project(fw C)'), '\n\n# Kiln: net\nadd_subdirectory(kiln_out/net)\ntarget_link_libraries(fw PRIVATE kiln::net)\n');
  assert.equal(appendedText(b, 'project(fw C)\n').startsWith('\n# Kiln: net\n'), true);
  assert.equal(offerLabel(b, 'CMakeLists.txt'), 'Add net to CMakeLists.txt');
});

const generated = [
  '/* header */', '#include "net.h"', '', '/* Operator 0: CONV_2D', ' * { not a brace that counts }', ' */',
  'static void op000_conv_2d(uint8_t *arena)', '{', '    kiln_conv(arena, "}", \'{\');', '}', '',
  '/* Operator 1: RELU */', 'static void op001_relu(uint8_t *arena)', '{', '    if (arena) {', '        f(); // }', '    }', '}', '',
].join('\n');
const small = { ...map, operators: [
  { index: 0, kind: 'CONV_2D', function: 'op000_conv_2d', line_start: 7, line_end: 10 },
  { index: 1, kind: 'RELU', function: 'op001_relu', line_start: 13, line_end: 18 },
] };
const heat = (text: string) => shades(small, [timing('op000_conv_2d', 0.9), timing('op001_relu', 0.1)], text)
  .map((x) => [x.function, x.startLine, x.endLine]);

test('heat follows the functions through edits above, inside and between them; a deleted one has none', () => {
  assert.deepEqual(heat(generated), [['op000_conv_2d', 6, 9], ['op001_relu', 12, 17]]);
  assert.deepEqual(heat('// mine\n// mine\n' + generated), [['op000_conv_2d', 8, 11], ['op001_relu', 14, 19]]);
  assert.deepEqual(heat(generated.replace('{\n    kiln_conv', '{\n    int x = 0;\n    kiln_conv')), [['op000_conv_2d', 6, 10], ['op001_relu', 13, 18]]);
  assert.deepEqual(heat(generated.replace('/* Operator 1: RELU */', 'static int helper(void) { return 1; }')), [['op000_conv_2d', 6, 9], ['op001_relu', 12, 17]]);
  const deleted = generated.split('\n').filter((_, k) => k < 3 || k > 10).join('\n');
  assert.deepEqual(heat(deleted), [['op001_relu', 4, 9]]);
  assert.deepEqual([...functionSpans('int f(void);\nint f(void)\n{\n}\n').entries()], [['f', [1, 3]]]);
});
