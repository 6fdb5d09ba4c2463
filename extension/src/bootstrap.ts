// Finding a Python that can run the language server, and making one when there is none: Kiln's
// own virtual environment in the extension's global storage, with the packages pyproject.toml
// names installed from PyPI by pip. The server's code itself ships inside the extension (server/).
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { settings } from './config';
import {
  Candidate, candidates, decide, Decision, parseProbe, Probe, probeScript, requirementSpecs,
} from './interpreter';

function pyproject(ctx: vscode.ExtensionContext): string {
  return fs.readFileSync(path.join(ctx.extensionPath, 'pyproject.toml'), 'utf8');
}

export function environmentDir(ctx: vscode.ExtensionContext): string {
  return path.join(ctx.globalStorageUri.fsPath, 'python-env');
}

function environmentPython(ctx: vscode.ExtensionContext): string | undefined {
  const p = process.platform === 'win32'
    ? path.join(environmentDir(ctx), 'Scripts', 'python.exe')
    : path.join(environmentDir(ctx), 'bin', 'python');
  return fs.existsSync(p) ? p : undefined;
}

/** The Python extension's interpreter for this workspace, when that extension is installed. */
async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) return undefined;
  try {
    const api: any = ext.isActive ? ext.exports : await ext.activate();
    const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
    const env = await api?.environments?.getActiveEnvironmentPath?.(resource);
    if (env?.path) return env.path;
    return api?.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  } catch {
    return undefined;
  }
}

export function probe(python: string, dists: string[]): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(python, ['-c', probeScript(dists)], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err && !stdout) resolve({ ok: false, error: (stderr || err.message).trim().split('\n').pop() });
      else resolve(parseProbe(stdout));
    });
  });
}

export async function choose(ctx: vscode.ExtensionContext, log: vscode.OutputChannel): Promise<Decision> {
  const dists = requirementSpecs(pyproject(ctx)); // names with their version specifiers
  // untrusted: not the Python extension's interpreter either, which may live in the workspace (.venv)
  const fromExtension = vscode.workspace.isTrusted ? await pythonExtensionInterpreter() : undefined;
  const list = candidates(settings().pythonPath, fromExtension, environmentPython(ctx));
  const probed: [Candidate, Probe][] = [];
  for (const c of list) {
    const p = await probe(c.path, dists);
    probed.push([c, p]);
    log.appendLine(`[python] ${c.source}: ${c.path}: ${p.ok ? `Python ${p.version}, missing: ${p.missing!.join(', ') || 'nothing'}` : p.error}`);
    if (c.source === 'setting') break; // the user's choice: it works or it is the error
    if (p.ok && p.missing!.length === 0 && p.version) {
      const d = decide(probed);
      if ('use' in d) return d;
    }
  }
  return decide(probed);
}

/** Create (or refresh) Kiln's environment from `base` and install the server's packages into it. */
export async function installEnvironment(ctx: vscode.ExtensionContext, base: string, log: vscode.OutputChannel): Promise<string> {
  const dir = environmentDir(ctx);
  const specs = requirementSpecs(pyproject(ctx));
  const run = (cmd: string, args: string[], progress: vscode.Progress<{ message?: string }>, token: vscode.CancellationToken) =>
    new Promise<void>((resolve, reject) => {
      log.appendLine(`[install] ${cmd} ${args.join(' ')}`);
      const child = spawn(cmd, args, { env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
      token.onCancellationRequested(() => child.kill());
      const onData = (b: Buffer) => {
        for (const line of b.toString().split('\n').filter((l) => l.trim())) {
          log.appendLine(`[install] ${line}`);
          const m = line.match(/^(Collecting|Downloading|Installing collected packages:?|Successfully installed)\s*(.*)/);
          if (m) progress.report({ message: `${m[1].toLowerCase()} ${m[2].slice(0, 60)}` });
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
      child.on('close', (code) => (code === 0 ? resolve()
        : reject(new Error(token.isCancellationRequested ? 'cancelled' : `${path.basename(cmd)} ${args[0]} ${args[1] ?? ''} exited with ${code}`))));
    });
  await vscode.window.withProgress({
    location: vscode.ProgressLocation.Notification, title: "Kiln: installing the language server's Python packages", cancellable: true,
  }, async (progress, token) => {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    progress.report({ message: `creating ${dir}` });
    await run(base, ['-m', 'venv', dir], progress, token);
    const py = environmentPython(ctx);
    if (!py) throw new Error(`${dir}: the new environment has no Python (is the venv module installed? on Debian: apt install python3-venv)`);
    await run(py, ['-m', 'pip', 'install', ...specs], progress, token);
  });
  return environmentPython(ctx)!;
}
