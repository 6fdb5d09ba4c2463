// The model report: a read-only custom editor for .tflite files, filled from kiln/report (the
// operators table and the memory timeline). It refreshes when the file changes on disk.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type KilnClient, ServerDown } from './client';
import { csp, esc } from './html';
import { errorHtml, reportHtml } from './reportView';

export const VIEW_TYPE = 'kiln.modelReport';

export class ModelReportProvider implements vscode.CustomReadonlyEditorProvider {
  /** The .tflite of the report in front, for the title bar's Compile button. */
  active: vscode.Uri | undefined;
  /** Per report, whether Kiln can compile its model: the title bar offers Compile only then. */
  private readonly compilable = new Map<string, boolean>();
  /** Reports that could not load because the server could not start: loaded again once it can. */
  private readonly waiting = new Map<string, () => Promise<void>>();

  private setActive(uri: vscode.Uri | undefined): void {
    this.active = uri;
    const can = uri ? this.compilable.get(uri.toString()) ?? true : false;
    void vscode.commands.executeCommand('setContext', 'kiln.reportCompilable', can);
  }

  constructor(private readonly ctx: vscode.ExtensionContext, private readonly kiln: KilnClient) {
    ctx.subscriptions.push(kiln.readiness.event(({ ready }) => {
      if (!ready) return;
      const again = [...this.waiting.values()];
      this.waiting.clear();
      for (const load of again) void load();
    }));
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const mediaRoot = vscode.Uri.joinPath(this.ctx.extensionUri, 'extension', 'media');
    panel.webview.options = { enableScripts: false, localResourceRoots: [mediaRoot] };
    const style = panel.webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'kiln.css')).toString();
    const policy = csp(panel.webview.cspSource, '', false);
    const name = path.basename(document.uri.fsPath);
    const load = async () => {
      try {
        const r = await this.kiln.request('kiln/report', { uri: document.uri.toString() });
        this.compilable.set(document.uri.toString(), r.problems.length === 0);
        panel.webview.html = reportHtml(r, policy, style, name);
      } catch (e) {
        this.compilable.set(document.uri.toString(), false); // not even readable
        if (e instanceof ServerDown) this.waiting.set(document.uri.toString(), load);
        panel.webview.html = errorHtml(`${name}: ${(e as Error).message}`, policy, style);
      }
      if (panel.active) this.setActive(document.uri);
    };
    panel.webview.html = `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="${esc(policy)}"><link rel="stylesheet" href="${esc(style)}"></head><body><p class="meta">Reading ${esc(name)}…</p></body></html>`;
    if (panel.active) this.setActive(document.uri);
    panel.onDidChangeViewState(() => {
      if (panel.active) this.setActive(document.uri);
      else if (this.active?.toString() === document.uri.toString()) this.setActive(undefined); // not in front any more
    });
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(document.uri.fsPath)), name));
    watcher.onDidChange(load);
    panel.onDidDispose(() => {
      watcher.dispose();
      this.compilable.delete(document.uri.toString());
      this.waiting.delete(document.uri.toString());
      if (this.active?.toString() === document.uri.toString()) this.setActive(undefined);
    });
    await load();
  }
}
