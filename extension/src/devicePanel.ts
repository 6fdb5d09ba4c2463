// The device panel: a webview beside the editor with the outputs against TFLite Micro, the
// per-operator latency chart and the RPC log. Its content is kept in the webview's state, so it
// survives reloads (a serializer brings the panel back after a window reload).
import * as vscode from 'vscode';
import { chartHtml, diffHtml, outputsHtml, PANEL_COMMANDS, shellHtml } from './deviceView';
import { csp, nonce } from './html';
import type { DiffResult, ProfileResult, RunResult } from './protocol';

export const VIEW_TYPE = 'kiln.devicePanel';
const MAX_LOG = 500;

interface PanelState { outputs?: string; chart?: string; diff?: string; diffFile?: string; log: string[] }

export class DevicePanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private state: PanelState = { log: [] };
  private readonly profiles = new Map<string, ProfileResult>(); // model@board -> the last profile, the "before"

  constructor(private readonly ctx: vscode.ExtensionContext) {
    ctx.subscriptions.push(vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: PanelState | undefined) => {
        this.state = state && Array.isArray(state.log) ? state : { log: [] };
        this.attach(panel);
      },
    }));
  }

  show(preserveFocus = true): void {
    if (this.panel) {
      this.panel.reveal(vscode.ViewColumn.Beside, preserveFocus);
      return;
    }
    this.attach(vscode.window.createWebviewPanel(VIEW_TYPE, 'Kiln Device', { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      this.options()));
  }

  showRun(run: RunResult): void {
    this.state.outputs = outputsHtml(run);
    this.show();
    this.post({ type: 'outputs', html: this.state.outputs });
  }

  showProfile(p: ProfileResult): void {
    const key = `${p.model}@${p.board}`;
    this.state.chart = chartHtml(p, this.profiles.get(key));
    this.profiles.set(key, p);
    this.show();
    this.post({ type: 'chart', html: this.state.chart });
  }

  showDiff(r: DiffResult): void {
    this.state.diff = diffHtml(r);
    this.state.diffFile = r.file;
    this.show();
    this.post({ type: 'diff', html: this.state.diff });
  }

  /** A row of the comparison clicked: its function in the C it was computed on (and only that file). */
  private async reveal(line: unknown): Promise<void> {
    if (!this.state.diffFile || typeof line !== 'number' || !Number.isInteger(line) || line < 0) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(this.state.diffFile));
    const at = new vscode.Position(Math.min(line, doc.lineCount - 1), 0);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(at, at) });
  }

  log(line: string): void {
    const stamped = `${new Date().toLocaleTimeString()}  ${line}`;
    this.state.log.push(stamped);
    if (this.state.log.length > MAX_LOG) this.state.log.splice(0, this.state.log.length - MAX_LOG);
    this.post({ type: 'log', line: stamped });
  }

  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.ctx.extensionUri, 'extension', 'media')] };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.webview.options = this.options();
    const media = (f: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(this.ctx.extensionUri, 'extension', 'media', f)).toString();
    const n = nonce();
    panel.webview.html = shellHtml(csp(panel.webview.cspSource, n, true), n, media('devicePanel.js'), media('kiln.css'));
    panel.webview.onDidReceiveMessage((m) => {
      if (m?.type === 'ready') this.post({ type: 'state', state: this.state });
      else if (m?.type === 'command' && PANEL_COMMANDS.includes(m.command)) void vscode.commands.executeCommand(m.command);
      else if (m?.type === 'reveal') void this.reveal(m.line);
    });
    panel.onDidDispose(() => { this.panel = undefined; });
  }

  private post(message: unknown): void {
    void this.panel?.webview.postMessage(message);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
