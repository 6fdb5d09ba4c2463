import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { candidates, decide, parseProbe, probeScript, requirements, requirementSpecs, usable } from '../../src/interpreter';

const ROOT = join(__dirname, '..', '..', '..');

test('candidates: setting, then the Python extension, then Kiln\'s environment, then python3; no duplicates', () => {
  assert.deepEqual(candidates(' /opt/py ', '/usr/bin/python3.11', undefined).map((c) => [c.source, c.path]),
    [['setting', '/opt/py'], ['python-extension', '/usr/bin/python3.11'], ['python3', 'python3']]);
  assert.deepEqual(candidates('', undefined, '/env/bin/python').map((c) => c.source), ['kiln-environment', 'python3']);
  assert.deepEqual(candidates('python3', undefined, undefined, 'linux').map((c) => c.source), ['setting']);
  assert.deepEqual(candidates(undefined, undefined, undefined, 'win32').map((c) => c.path), ['python3', 'python']);
  assert.deepEqual(candidates(undefined, undefined, undefined, 'linux').map((c) => c.path), ['python3']);
});

test('requirements come from the real pyproject.toml', () => {
  const text = readFileSync(join(ROOT, 'pyproject.toml'), 'utf8');
  const names = requirements(text);
  for (const n of ['numpy', 'tflite', 'tflite-micro', 'pyserial', 'pygls']) assert.ok(names.includes(n), n);
  assert.ok(!names.includes('pytest'), 'test extras are not server requirements');
  assert.ok(requirementSpecs(text).some((s) => s.startsWith('pygls>=')));
  assert.throws(() => requirements('[tool.x]\nfoo = 1\n'), /dependencies/);
});

test('the probe runs in Python and finds what is installed and what is not', () => {
  const out = execFileSync('python3', ['-c', probeScript(['pip', 'kiln-no-such-distribution'])], { encoding: 'utf8' });
  const p = parseProbe(out);
  assert.equal(p.ok, true);
  assert.match(p.version!, /^3\.\d+\.\d+/);
  assert.deepEqual(p.missing, ['kiln-no-such-distribution']);
});

test('the probe checks versions against the specifiers of pyproject.toml', () => {
  const run = (specs: string[]) => parseProbe(execFileSync('python3', ['-c', probeScript(specs)], { encoding: 'utf8' }));
  const pip = execFileSync('python3', ['-c', 'from importlib import metadata; print(metadata.version("pip"))'], { encoding: 'utf8' }).trim();
  const major = Number(pip.split('.')[0]);
  assert.deepEqual(run([`pip>=${major}`, `pip<${major + 1}`, 'pip']).missing, []);
  assert.deepEqual(run([`pip>=${major + 1},<${major + 5}`]).missing, [`pip ${pip} (needs >=${major + 1},<${major + 5})`]);
  assert.deepEqual(run([`pip<${major}.0`]).missing, [`pip ${pip} (needs <${major}.0)`]);
  // the real requirements parse (whatever this python3 has installed)
  const specs = requirementSpecs(readFileSync(join(ROOT, 'pyproject.toml'), 'utf8'));
  assert.equal(run(specs).ok, true);
});

test('parseProbe reads the last line, and says what came instead', () => {
  assert.deepEqual(parseProbe('warning\n{"version": "3.11.2", "missing": []}\n'), { ok: true, version: '3.11.2', missing: [] });
  const bad = parseProbe('Traceback ...\nSyntaxError: invalid syntax');
  assert.equal(bad.ok, false);
  assert.match(bad.error!, /SyntaxError/);
});

test('decide: the first usable candidate wins', () => {
  const d = decide([
    [{ source: 'python-extension', path: '/a' }, { ok: true, version: '3.10.4', missing: [] }],
    [{ source: 'python3', path: 'python3' }, { ok: true, version: '3.11.2', missing: [] }],
  ]);
  assert.ok('use' in d && d.use.path === 'python3');
});

test('decide: a broken kiln.pythonPath is the error, not skipped', () => {
  const d = decide([[{ source: 'setting', path: '/nope' }, { ok: false, error: 'ENOENT' }]]);
  assert.ok('problem' in d);
  assert.match(d.problem, /kiln\.pythonPath \(\/nope\) does not run: ENOENT/);
  assert.ok(d.offers.includes('choose'));
});

test('decide: packages missing everywhere -> offer to install with a recent enough Python', () => {
  const d = decide([
    [{ source: 'python-extension', path: '/old' }, { ok: true, version: '3.9.1', missing: [] }],
    [{ source: 'python3', path: 'python3' }, { ok: true, version: '3.11.2', missing: ['pygls', 'tflite'] }],
  ]);
  assert.ok('problem' in d);
  assert.match(d.problem, /3\.9\.1; Kiln needs 3\.11/);
  assert.match(d.problem, /lacks pygls, tflite/);
  assert.equal(d.installWith?.path, 'python3');
  assert.deepEqual(d.offers, ['install', 'choose', 'output']);
  assert.equal(usable({ ok: true, version: '3.12.0', missing: [] }), true);
});
