// Which Python runs the language server: pure logic, no VS Code here (unit-tested).
//
// Order: the kiln.pythonPath setting; else the Python extension's active interpreter; else the
// private environment `Kiln: Install the Language Server's Python Packages` made; else python3
// (and on Windows, where python.org's installer gives no python3, python).
// The first that has Python >= 3.11 and the packages pyproject.toml names, at versions its
// specifiers allow, is used. A pythonPath the user set is never skipped silently: when it does
// not work, that is the error.

export type Source = 'setting' | 'python-extension' | 'kiln-environment' | 'python3' | 'python';

export interface Candidate { source: Source; path: string }

export interface Probe {
  ok: boolean; // it ran and printed a probe answer
  version?: string; // "3.11.2"
  missing?: string[]; // distributions not installed
  error?: string; // why it did not run
}

export const MIN_PYTHON: [number, number] = [3, 11];

export function candidates(setting: string | undefined, pythonExtension: string | undefined,
  kilnEnvironment: string | undefined, platform: string = process.platform): Candidate[] {
  const out: Candidate[] = [];
  const add = (source: Source, path: string | undefined) => {
    if (path && path.trim() && !out.some((c) => c.path === path.trim())) out.push({ source, path: path.trim() });
  };
  add('setting', setting);
  add('python-extension', pythonExtension);
  add('kiln-environment', kilnEnvironment);
  add('python3', 'python3');
  if (platform === 'win32') add('python', 'python');
  return out;
}

/** The requirement strings of pyproject.toml's [project] dependencies, e.g. "pygls>=2.1,<3". */
export function requirementSpecs(pyproject: string): string[] {
  const project = pyproject.split(/^\[/m).find((s) => s.startsWith('project]'));
  const m = project?.match(/^dependencies\s*=\s*\[([\s\S]*?)\]/m);
  if (!m) throw new Error('pyproject.toml: no [project] dependencies list');
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

/** Their distribution names ("pygls>=2.1,<3" -> "pygls"). */
export function requirements(pyproject: string): string[] {
  return requirementSpecs(pyproject).map((r) => r.split(/[\s<>=!~;[(]/)[0]).filter(Boolean);
}

/** A Python script that prints {"version": ..., "missing": [...]} for the given requirements
 *  ("pygls>=2.1,<3" or a bare name): an entry of missing is the name of a distribution that is not
 *  installed, or "name X.Y (needs >=2.1,<3)" for one whose version is outside the specifiers.
 *  Versions compare by their leading numbers (pre-releases count as their release). */
export function probeScript(specs: string[]): string {
  return [
    'import json, platform, re',
    'from importlib import metadata',
    'def nums(v):',
    '    m = re.match(r"\\d+(?:\\.\\d+)*", v)  # the release numbers: 2.1rc1 -> (2, 1)',
    '    return tuple(int(x) for x in m.group(0).split("."))[:4] if m else (0,)',
    'OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,',
    '       "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "~=": lambda a, b: a >= b}',
    'missing = []',
    `for spec in ${JSON.stringify(specs)}:`,
    '    name = re.split(r"[\\s<>=!~;\\[(]", spec, 1)[0]',
    '    clauses = re.findall(r"(>=|<=|==|!=|~=|<|>)\\s*([\\w.]+)", spec[len(name):])',
    '    try: have = metadata.version(name)',
    '    except metadata.PackageNotFoundError: missing.append(name); continue',
    '    pad = lambda t: t + (0,) * (4 - len(t))',
    '    if not all(OPS[op](pad(nums(have)), pad(nums(v))) for op, v in clauses):',
    '        missing.append(f"{name} {have} (needs {spec[len(name):].strip()})")',
    'print(json.dumps({"version": platform.python_version(), "missing": missing}))',
  ].join('\n');
}

export function parseProbe(stdout: string): Probe {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const d = JSON.parse(line);
    if (typeof d.version === 'string' && Array.isArray(d.missing)) return { ok: true, version: d.version, missing: d.missing };
  } catch { /* fall through */ }
  return { ok: false, error: `unexpected answer: ${line.slice(0, 120) || '(nothing)'}` };
}

export function versionOk(version: string): boolean {
  const [a, b] = version.split('.').map(Number);
  return a > MIN_PYTHON[0] || (a === MIN_PYTHON[0] && b >= MIN_PYTHON[1]);
}

export function usable(p: Probe): boolean {
  return p.ok && !!p.version && versionOk(p.version) && (p.missing ?? []).length === 0;
}

export function describe(c: Candidate, p: Probe): string {
  const where = { 'setting': 'kiln.pythonPath', 'python-extension': "the Python extension's interpreter",
    'kiln-environment': "Kiln's environment", 'python3': 'python3', 'python': 'python' }[c.source];
  if (!p.ok) return `${where} (${c.path}) does not run: ${p.error}`;
  if (!versionOk(p.version!)) return `${where} (${c.path}) is Python ${p.version}; Kiln needs ${MIN_PYTHON.join('.')} or newer`;
  if (p.missing!.length) return `${where} (${c.path}) lacks ${p.missing!.join(', ')}`; // or has them too old or new
  return `${where} (${c.path}): Python ${p.version}`;
}

export type Decision =
  | { use: Candidate; note: string }
  | { problem: string; installWith?: Candidate; offers: Offer[] };
export type Offer = 'install' | 'choose' | 'settings' | 'output';

/** Pick the interpreter from the probed candidates, in order. */
export function decide(probed: [Candidate, Probe][]): Decision {
  const first = probed[0];
  if (first && first[0].source === 'setting' && !usable(first[1])) {
    return { problem: describe(first[0], first[1]), offers: ['choose', 'settings', 'output'],
      installWith: installer(probed) };
  }
  const ok = probed.find(([, p]) => usable(p));
  if (ok) return { use: ok[0], note: describe(ok[0], ok[1]) };
  const inst = installer(probed);
  const reasons = probed.map(([c, p]) => describe(c, p)).join('; ');
  return {
    problem: `no Python can run Kiln's language server: ${reasons}`,
    installWith: inst,
    offers: inst ? ['install', 'choose', 'output'] : ['choose', 'settings', 'output'],
  };
}

/** An interpreter recent enough to create Kiln's own environment from. */
function installer(probed: [Candidate, Probe][]): Candidate | undefined {
  return probed.find(([c, p]) => c.source !== 'kiln-environment' && p.ok && versionOk(p.version!))?.[0];
}
