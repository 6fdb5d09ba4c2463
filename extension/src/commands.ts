// The commands: compile, choose a board, build, flash, run and profile. Each long one shows its
// progress (a notification or the status bar), can be cancelled where the server allows it, and
// on failure says what failed with the way to the output.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { boardItem, type Need } from './boardPicker';
import { offerBuildEdit } from './buildEdit';
import { Cancelled, KilnClient, ServerError } from './client';
import { currentBoard, setBoard } from './config';
import type { DevicePanel } from './devicePanel';
import type { HeatDecorations } from './heatDecorations';
import type { KeptEdits } from './keptEdits';
import type { Models } from './models';
import type { StatusBar } from './statusBar';

export interface Parts { kiln: KilnClient; status: StatusBar; panel: DevicePanel; heat: HeatDecorations; models: Models; kept: KeptEdits }

function trusted(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage('Kiln: this workspace is not trusted, so Kiln only shows model reports. Trust the workspace to compile, build, flash and run.', 'Manage Workspace Trust')
    .then((a) => a && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

/** A command failed: the output and the panel log say so; device work on `model` also turns the
 * status bar's Flash red (a compile's failure is in Problems and the notification instead). */
async function failed(p: Parts, what: string, e: unknown, device?: vscode.Uri): Promise<void> {
  if (e instanceof Cancelled) {
    if (device) p.status.idle();
    void vscode.window.setStatusBarMessage(`Kiln: ${what} cancelled`, 4000);
    return;
  }
  const message = (e as Error).message ?? String(e);
  p.kiln.output.appendLine(`[error] ${what}: ${message}`);
  p.panel.log(`${what} failed: ${message}`);
  if (device) p.status.failed(what, message, device);
  // the server has already shown its own message for the errors it answered; this one is for the rest
  if (!(e instanceof ServerError)) {
    const a = await vscode.window.showErrorMessage(`Kiln: ${what} failed: ${message}`, 'Show Output');
    if (a) p.kiln.output.show(true);
  }
}

export async function compile(p: Parts, arg?: unknown): Promise<void> {
  if (!trusted()) return;
  const model = await p.models.pick(arg);
  if (!model) return;
  const name = path.basename(model.fsPath);
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Kiln: compiling ${name}`, cancellable: true },
    async (progress, token) => {
      const sub = p.kiln.events.event((e) => e.request === 'kiln/compile' && progress.report({ message: e.message }));
      try {
        const r = await p.kiln.request('kiln/compile', { uri: model.toString() }, token);
        // the generated C is the .c with a source map beside it (its name is the model's as a C identifier)
        const uris = r.files.map((f) => vscode.Uri.parse(f));
        const maps = new Set(uris.map((u) => u.fsPath).filter((f) => f.endsWith('.kiln.json')).map((f) => f.replace(/\.kiln\.json$/, '.c')));
        const c = uris.find((u) => maps.has(u.fsPath));
        p.heat.clearFolder(vscode.Uri.parse(r.outDir).fsPath);
        p.models.remember(model, c?.fsPath);
        p.status.current(model);
        if (r.kept) p.kept.show(r.outDir, r.kept); // the writer's notes are these edits, said with Compare and Replace
        else for (const note of r.problems) void vscode.window.showWarningMessage(`Kiln: ${note}`);
        const s = r.summary;
        lastNeed = { model: name, arena: s.arena_bytes, flash: s.flash_bytes };
        vscode.window.setStatusBarMessage(`Kiln: ${name}: ${s.operators.length} operators, ${s.macs.toLocaleString('en-US')} MACs, arena ${s.arena_bytes.toLocaleString('en-US')} B`, 8000);
        if (c) await vscode.window.showTextDocument(c, { preview: false });
        void offerBuildEdit(r.buildSystem); // not awaited: the offer waits for the user, the compile is done
      } catch (e) {
        await failed(p, `compiling ${name}`, e);
      } finally {
        sub.dispose();
      }
    });
}

// What the model compiled last needs of a board (the board picker says whether each one has it).
let lastNeed: Need | undefined;

export async function pickBoard(p: Parts): Promise<void> {
  let boards;
  try {
    boards = (await p.kiln.request('kiln/boards', {})).boards;
  } catch (e) {
    await failed(p, 'listing the boards', e);
    return;
  }
  const now = currentBoard();
  const item = await vscode.window.showQuickPick(boards.map((b) => boardItem(b, now, lastNeed)),
    { title: 'Kiln: choose the board', placeHolder: `now: ${now}`, matchOnDescription: true });
  if (!item) return;
  await setBoard(item.label);
  p.status.showBoard(item.label, vscode.workspace.isTrusted);
}

// What a device command is doing, if one is: one at a time, as they share the board and its link.
let deviceWork: string | undefined;

/** A device request with the status bar spinning, a cancellable notification and the device events
 * in the panel log. A second device command while one runs is refused, naming the first. */
async function onDevice<T>(p: Parts, what: string, busy: string,
  work: (model: vscode.Uri, board: string, token: vscode.CancellationToken) => Promise<T>, arg?: unknown): Promise<T | undefined> {
  if (!trusted()) return undefined;
  if (deviceWork) {
    void vscode.window.showWarningMessage(`Kiln: ${deviceWork} is under way; wait for it, or cancel it from its notification.`);
    return undefined;
  }
  const model = await p.models.pick(arg);
  if (!model) return undefined;
  const board = currentBoard();
  const title = `${what} ${path.basename(model.fsPath)} on ${board}`;
  deviceWork = title;
  p.status.busy(busy);
  p.panel.log(title);
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Kiln: ${title}`, cancellable: true },
      async (progress, token) => {
        const sub = p.kiln.events.event((e) => {
          p.panel.log(`[${e.board ?? board}] ${e.message}`);
          p.status.busy(`${busy} ${e.message.slice(0, 40)}`);
          progress.report({ message: e.message });
        });
        try {
          const r = await work(model, board, token);
          p.status.idle();
          return r;
        } catch (e) {
          await failed(p, title, e, model);
          return undefined;
        } finally {
          sub.dispose();
        }
      });
  } finally {
    deviceWork = undefined;
  }
}

export async function build(p: Parts, arg?: unknown): Promise<void> {
  const r = await onDevice(p, 'building', 'Building…', (m, board, token) => p.kiln.request('kiln/build', { uri: m.toString(), board }, token), arg);
  if (r) void vscode.window.showInformationMessage(`Kiln: built ${vscode.workspace.asRelativePath(vscode.Uri.parse(r.artifact))} for ${r.board}`);
}

export async function flash(p: Parts, arg?: unknown): Promise<void> {
  const r = await onDevice(p, 'flashing', 'Flashing…', async (m, board, token) => {
    const res = await p.kiln.request('kiln/flash', { uri: m.toString(), board }, token);
    p.models.remember(m);
    return res;
  }, arg);
  if (!r) return;
  p.panel.log(`flashed ${r.board}: RPC at ${r.url}`);
  const a = await vscode.window.showInformationMessage(`Kiln: flashed ${r.board}; the model runs there now.`, 'Profile', 'Run');
  if (a === 'Profile') await profile(p);
  else if (a === 'Run') await run(p);
}

export async function run(p: Parts, arg?: unknown): Promise<void> {
  const r = await onDevice(p, 'running', 'Running…', (m, board, token) => p.kiln.request('kiln/run', { uri: m.toString(), board }, token), arg);
  if (r) p.panel.showRun(r);
}

/** Run once (outputs against TFLite Micro), then profile: the panel gets both, the C its shading. */
export async function profile(p: Parts, arg?: unknown): Promise<void> {
  const r = await onDevice(p, 'profiling', 'Profiling…', async (m, board, token) => {
    const out = await p.kiln.request('kiln/run', { uri: m.toString(), board }, token);
    p.panel.showRun(out);
    const prof = await p.kiln.request('kiln/profile', { uri: m.toString(), board }, token);
    return { model: m, prof };
  }, arg);
  if (!r) return;
  p.panel.showProfile(r.prof);
  const c = p.models.cOfModel(r.model);
  if (c) p.heat.set(c, r.prof);
  vscode.window.setStatusBarMessage(`Kiln: ${r.prof.model} on ${r.prof.board}: ${r.prof.total.cycles.toLocaleString('en-US')} ${r.prof.unit ?? 'cycles'}`, 8000);
}

/** Measure each operator's kernel variants on the board; the chart shows untuned (before) and tuned. */
export async function tune(p: Parts, arg?: unknown): Promise<void> {
  const r = await onDevice(p, 'tuning', 'Tuning…', (m, board, token) => p.kiln.request('kiln/tune', { uri: m.toString(), board }, token), arg);
  if (!r) return;
  p.panel.showProfile(r.before);
  p.panel.showProfile(r.after);
  for (const o of r.operators.filter((x) => Object.keys(x.variants).length)) {
    const tried = Object.entries(o.variants).map(([v, c]) => `${v} ${c.toLocaleString('en-US')}`).join(', ');
    p.panel.log(`tuned op ${o.index} ${o.kind}: ${o.chosen} (${tried})`);
  }
  const [b, a] = [r.before.total.cycles, r.after.total.cycles];
  const change = b ? ((100 * (a - b)) / b).toFixed(1) : '0';
  const pick = await vscode.window.showInformationMessage(
    `Kiln: tuned ${r.model} on ${r.board} in ${Math.round(r.seconds)} s: ${b.toLocaleString('en-US')} → ${a.toLocaleString('en-US')} cycles (${change}%). `
    + `The choices are in ${path.basename(r.log)}; compile again to use them.`, 'Compile Model');
  if (pick) await compile(p);
}

/** Layer by layer: the C in the output folder as it is (edits included) stepped on the board, each
 * operator's outputs against TFLite Micro's; the table in the panel, the marks in the C (the server's). */
export async function compareLayers(p: Parts, arg?: unknown): Promise<void> {
  const model = arg instanceof vscode.Uri && arg.fsPath.endsWith('.c') ? p.models.modelOfC(arg.fsPath) : arg;
  const r = await onDevice(p, 'comparing layer by layer', 'Comparing…',
    (m, board, token) => p.kiln.request('kiln/diff', { uri: m.toString(), board }, token), model);
  if (!r) return;
  p.panel.showDiff(r);
  const first = r.operators.find((o) => o.index === r.first_diverging);
  p.panel.log(first ? `layer by layer on ${r.board}: ${first.function} is the first to differ (${first.mismatches} values)`
    : `layer by layer on ${r.board}: every operator matches TFLite Micro`);
  vscode.window.setStatusBarMessage(first ? `Kiln: ${first.function} is the first operator to differ from TFLite Micro`
    : `Kiln: every operator of ${r.model} matches TFLite Micro on ${r.board}`, 8000);
}
