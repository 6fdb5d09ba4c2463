// Generated files the user edited, which a recompile kept (Kiln wrote its new version beside each
// as <file>.kiln-new): a warning offering Compare (the diff editor) and Replace with New, a line in
// the Kiln output, and a warning in Problems on the kept file, with the same two quick fixes, that
// stays until the edit is resolved (a toast moves to the notification centre after a while).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { KeptEdit } from './protocol';

const CODE = 'kept-edit';

export class KeptEdits implements vscode.Disposable, vscode.CodeActionProvider {
  private readonly problems = vscode.languages.createDiagnosticCollection('kiln-kept');
  private readonly fresh = new Map<string, vscode.Uri>(); // the user's file -> Kiln's new version
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly output: vscode.OutputChannel) {
    this.subscriptions = [
      this.problems,
      vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, this, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
      vscode.commands.registerCommand('kiln.compareKept', (file: vscode.Uri) => this.compare(file)),
      vscode.commands.registerCommand('kiln.replaceKept', (file: vscode.Uri) => this.replace(file)),
    ];
  }

  /** A compile into `outDir` kept these edits; earlier warnings there that it no longer reports go. */
  show(outDir: string, kept: KeptEdit[]): void {
    const folder = vscode.Uri.parse(outDir).fsPath + path.sep;
    const now = new Set(kept.map((k) => vscode.Uri.parse(k.file).toString()));
    this.problems.forEach((uri) => {
      if (uri.fsPath.startsWith(folder) && !now.has(uri.toString())) this.forget(uri);
    });
    for (const k of kept) {
      const file = vscode.Uri.parse(k.file);
      const fresh = vscode.Uri.parse(k.new);
      this.fresh.set(file.toString(), fresh);
      const text = `you edited ${path.basename(file.fsPath)}, so Kiln kept it as it is and wrote its new version beside it as ${path.basename(fresh.fsPath)}`;
      this.output.appendLine(`[kept] ${file.fsPath}: ${text}`);
      const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), `Kiln: ${text}: compare them, or replace yours with the new version.`,
        vscode.DiagnosticSeverity.Warning);
      d.source = 'kiln';
      d.code = CODE;
      this.problems.set(file, [d]);
      void vscode.window.showWarningMessage(`Kiln: ${text}.`, 'Compare', 'Replace with New').then((a) => {
        if (a === 'Compare') void this.compare(file);
        else if (a === 'Replace with New') void this.replace(file);
      });
    }
  }

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, ctx: vscode.CodeActionContext): vscode.CodeAction[] {
    if (!ctx.diagnostics.some((d) => d.code === CODE)) return [];
    const action = (title: string, command: string) => {
      const a = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
      a.command = { title, command, arguments: [doc.uri] };
      return a;
    };
    return [action('Compare with Kiln\'s new version', 'kiln.compareKept'), action('Replace with Kiln\'s new version', 'kiln.replaceKept')];
  }

  async compare(file: vscode.Uri): Promise<void> {
    const fresh = this.fresh.get(file.toString());
    if (!fresh) return;
    await vscode.commands.executeCommand('vscode.diff', file, fresh,
      `${path.basename(file.fsPath)} (yours) ↔ ${path.basename(fresh.fsPath)} (Kiln's new version)`);
  }

  /** Kiln's new version in place of the user's file (which is Kiln's own again), the .kiln-new gone. */
  async replace(file: vscode.Uri): Promise<void> {
    const fresh = this.fresh.get(file.toString());
    if (!fresh) return;
    await vscode.workspace.fs.copy(fresh, file, { overwrite: true });
    await vscode.workspace.fs.delete(fresh);
    this.output.appendLine(`[kept] ${file.fsPath}: replaced with Kiln's new version`);
    this.forget(file);
    void vscode.window.setStatusBarMessage(`Kiln: ${path.basename(file.fsPath)} is Kiln's new version now`, 6000);
  }

  private forget(file: vscode.Uri): void {
    this.problems.delete(file);
    this.fresh.delete(file.toString());
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
