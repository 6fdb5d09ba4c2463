// Task type `kiln`: build, flash, run and profile a model on a board from tasks.json or the task
// list. They run the kiln command line with the language server's Python, and the `$gcc` problem
// matcher puts compiler errors in the Problems view.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { KilnClient } from './client';
import { currentBoard, settings, toml } from './config';
import { cliArgs, COMMANDS, KilnTaskDefinition, outDirFor, problem, taskName } from './taskArgs';

export const TASK_TYPE = 'kiln';

export class KilnTaskProvider implements vscode.TaskProvider {
  constructor(private readonly ctx: vscode.ExtensionContext, private readonly kiln: KilnClient) {}

  async provideTasks(): Promise<vscode.Task[]> {
    if (!vscode.workspace.isTrusted) return [];
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return [];
    const models = await vscode.workspace.findFiles('**/*.tflite', '**/{node_modules,.git,kiln_out}/**', 50);
    const tasks: vscode.Task[] = [];
    for (const m of models) {
      // a model that failed to compile (Kiln's error on it in Problems) gets no build, flash or profile tasks
      if (vscode.languages.getDiagnostics(m).some((d) => d.source === 'kiln' && d.severity === vscode.DiagnosticSeverity.Error)) continue;
      const rel = path.relative(folder.uri.fsPath, m.fsPath).split(path.sep).join('/');
      for (const command of COMMANDS) {
        const t = await this.make({ type: TASK_TYPE, command, model: rel }, folder);
        if (t) tasks.push(t);
      }
    }
    return tasks;
  }

  async resolveTask(task: vscode.Task): Promise<vscode.Task | undefined> {
    const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    if (!folder) return undefined;
    return this.make(task.definition as KilnTaskDefinition, folder, task);
  }

  private async make(def: KilnTaskDefinition, folder: vscode.WorkspaceFolder, original?: vscode.Task): Promise<vscode.Task | undefined> {
    const board = def.board || currentBoard();
    const bad = problem(def);
    if (!(await this.kiln.ensureStarted()) || !this.kiln.python || bad) {
      // still a task, so the user sees why it cannot run instead of a silent no-op
      const why = bad ?? "Kiln's language server has no Python (see the Kiln output)";
      return new vscode.Task(def, folder, original?.name ?? taskName(def, board), TASK_TYPE,
        // the extension host's own runtime: Electron in desktop VS Code, which runs as Node with this variable
        new vscode.ProcessExecution(process.execPath, ['-e', `console.error(${JSON.stringify(`kiln: ${why}`)}); process.exit(2)`],
          { env: { ELECTRON_RUN_AS_NODE: '1' } }), []);
    }
    const root = folder.uri.fsPath;
    const out = outDirFor(def.model, root, settings().outDir, toml('out'));
    const env = { PYTHONPATH: path.join(this.ctx.extensionPath, 'server') };
    const exec = new vscode.ProcessExecution(this.kiln.python, cliArgs(def, board, out), { cwd: root, env });
    const task = new vscode.Task(def, folder, original?.name ?? taskName(def, board), TASK_TYPE, exec, ['$gcc']);
    task.group = def.command === 'build' ? vscode.TaskGroup.Build : undefined;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
    return task;
  }
}
