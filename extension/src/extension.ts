// Kiln's VS Code extension: wires the parts together. Each file does one job:
// client (the language server), bootstrap/interpreter (which Python), commands, statusBar,
// tasks, devicePanel, modelReport, heatDecorations, keptEdits; the *View/heat/taskArgs modules are pure.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { KilnClient } from './client';
import * as commands from './commands';
import { currentBoard } from './config';
import { DevicePanel } from './devicePanel';
import { HeatDecorations } from './heatDecorations';
import { KeptEdits } from './keptEdits';
import { ModelReportProvider, VIEW_TYPE as REPORT } from './modelReport';
import { Models } from './models';
import { StatusBar } from './statusBar';
import { KilnTaskProvider, TASK_TYPE } from './tasks';

let kiln: KilnClient | undefined;

export async function activate(ctx: vscode.ExtensionContext) {
  const output = vscode.window.createOutputChannel('Kiln');
  const trace = vscode.window.createOutputChannel('Kiln Trace');
  kiln = new KilnClient(ctx, output, trace);
  const status = new StatusBar();
  const panel = new DevicePanel(ctx);
  const heat = new HeatDecorations();
  const reports = new ModelReportProvider(ctx, kiln);
  const models = new Models(ctx.workspaceState, () => reports.active);
  const kept = new KeptEdits(output);
  const parts: commands.Parts = { kiln, status, panel, heat, models, kept };
  const refresh = () => status.showBoard(currentBoard(), vscode.workspace.isTrusted);

  ctx.subscriptions.push(output, trace, status, panel, heat, kept, kiln,
    vscode.window.registerCustomEditorProvider(REPORT, reports, { supportsMultipleEditorsPerDocument: true }),
    vscode.tasks.registerTaskProvider(TASK_TYPE, new KilnTaskProvider(ctx, kiln)),
    vscode.commands.registerCommand('kiln.compileModel', (arg) => commands.compile(parts, arg ?? reports.active)),
    vscode.commands.registerCommand('kiln.openModelReport', async (arg) => {
      const m = await models.pick(arg);
      if (m) await vscode.commands.executeCommand('vscode.openWith', m, REPORT);
    }),
    vscode.commands.registerCommand('kiln.pickBoard', () => commands.pickBoard(parts)),
    vscode.commands.registerCommand('kiln.build', (arg) => commands.build(parts, arg)),
    vscode.commands.registerCommand('kiln.flash', (arg) => commands.flash(parts, arg)),
    vscode.commands.registerCommand('kiln.run', (arg) => commands.run(parts, arg)),
    vscode.commands.registerCommand('kiln.profile', (arg) => commands.profile(parts, arg)),
    vscode.commands.registerCommand('kiln.tune', (arg) => commands.tune(parts, arg)),
    vscode.commands.registerCommand('kiln.compareLayers', (arg) => commands.compareLayers(parts, arg)),
    vscode.commands.registerCommand('kiln.showDevicePanel', () => panel.show(false)),
    vscode.commands.registerCommand('kiln.showOutput', () => output.show(true)),
    vscode.commands.registerCommand('kiln.restartServer', async () => {
      if (await kiln!.restart()) void vscode.window.setStatusBarMessage('Kiln: language server restarted', 4000);
    }),
    vscode.commands.registerCommand('kiln.installServer', () => kiln!.install()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('kiln.board')) refresh();
      if (e.affectsConfiguration('kiln.pythonPath')) void kiln!.restart();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(refresh),
  );
  const toml = vscode.workspace.createFileSystemWatcher('**/kiln.toml');
  ctx.subscriptions.push(toml, toml.onDidChange(refresh), toml.onDidCreate(refresh), toml.onDidDelete(refresh));
  refresh();
  firstRun(ctx, kiln, status);
}

/** A generated .c: one with its source map beside it. */
function generated(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && doc.fileName.endsWith('.c') && fs.existsSync(doc.fileName.replace(/\.c$/, '.kiln.json'));
}

/** The first minute: the walkthrough opens on the first start after install; Python is looked
 * for quietly (a missing one is the status bar's set-up item and the walkthrough's first step,
 * not an error at start-up); the server starts when a Kiln command runs, a model report opens, or
 * a generated .c (one with a source map beside it) opens, for its inline figures. */
function firstRun(ctx: vscode.ExtensionContext, client: KilnClient, status: StatusBar): void {
  const walkthrough = `${ctx.extension.id}#start`;
  ctx.subscriptions.push(
    client.readiness.event(({ ready, problem }) => {
      status.python(ready, problem);
      void vscode.commands.executeCommand('setContext', 'kiln.pythonReady', ready);
    }),
    vscode.commands.registerCommand('kiln.checkPython', () => client.checkPython()),
    vscode.commands.registerCommand('kiln.setUpPython', () =>
      vscode.commands.executeCommand('workbench.action.openWalkthrough', { category: walkthrough, step: `${walkthrough}#python` }, false)),
    vscode.workspace.onDidOpenTextDocument((doc) => {
      if (generated(doc)) void client.ensureStarted(true);
    }),
    // the editor title's Compare Layer by Layer shows on generated C only
    vscode.window.onDidChangeActiveTextEditor((e) => void vscode.commands.executeCommand('setContext', 'kiln.generatedC', !!e && generated(e.document))),
  );
  const active = vscode.window.activeTextEditor;
  void vscode.commands.executeCommand('setContext', 'kiln.generatedC', !!active && generated(active.document));
  if (!ctx.globalState.get<boolean>('kiln.walkthroughShown')) {
    void ctx.globalState.update('kiln.walkthroughShown', true);
    void vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthrough, false);
  }
  void client.check();
  if (vscode.workspace.textDocuments.some(generated)) {
    void client.ensureStarted(true); // a generated .c already open (a window reload): its figures
  }
}

export async function deactivate() {
  await kiln?.dispose();
}
