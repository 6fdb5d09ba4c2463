// Heat shading in the generated C: each operator function tinted by its share of the last
// profile (heat.ts computes it), found in the text as it is now, so the shading follows edits.
// Cleared when the model is recompiled, since the figures then no longer belong to that file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { settings } from './config';
import { LEVELS, levelColor, parseSourceMap, shades } from './heat';
import type { ProfileResult } from './protocol';

export class HeatDecorations implements vscode.Disposable {
  private readonly types = Array.from({ length: LEVELS }, (_, i) => vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: levelColor(i + 1),
    overviewRulerColor: levelColor(i + 1).replace(/[\d.]+\)$/, '0.9)'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  }));
  private readonly profiles = new Map<string, { profile: ProfileResult }>(); // .c path -> profile
  private readonly subs: vscode.Disposable[];

  constructor() {
    this.subs = [
      vscode.window.onDidChangeVisibleTextEditors(() => this.render()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length && this.profiles.has(e.document.uri.fsPath)) this.render();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('kiln.heatShading') && this.render()),
    ];
  }

  /** The profile of the model whose generated C is `cPath`. */
  set(cPath: string, profile: ProfileResult): void {
    this.profiles.set(cPath, { profile });
    this.render();
  }

  /** A recompile: figures for the files in this folder are stale. */
  clearFolder(dir: string): void {
    for (const k of [...this.profiles.keys()]) if (path.dirname(k) === dir) this.profiles.delete(k);
    this.render();
  }

  /** How many lines of `cPath` are shaded now (for the tests and the hover). */
  shadedFunctions(cPath: string): string[] {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === cPath);
    return this.compute(cPath, doc?.getText()).map((s) => s.function);
  }

  private compute(cPath: string, text?: string) {
    const rec = this.profiles.get(cPath);
    if (!rec || !settings().heatShading) return [];
    let mapText: string;
    try {
      mapText = fs.readFileSync(cPath.replace(/\.c$/, '.kiln.json'), 'utf8');
    } catch {
      return [];
    }
    const map = parseSourceMap(mapText, path.basename(cPath));
    if (text === undefined) {
      try { text = fs.readFileSync(cPath, 'utf8'); } catch { return []; }
    }
    return map ? shades(map, rec.profile.operators, text) : [];
  }

  private render(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const doc = editor.document;
      const current = this.profiles.has(doc.uri.fsPath) ? this.compute(doc.uri.fsPath, doc.getText()) : [];
      this.types.forEach((t, i) => editor.setDecorations(t, current.filter((s) => s.level === i + 1).map((s) => ({
        range: new vscode.Range(s.startLine, 0, s.endLine, 0),
        hoverMessage: `Kiln: ${s.function} took ${(100 * s.share).toFixed(1)}% of the time`,
      }))));
    }
  }

  dispose(): void {
    this.types.forEach((t) => t.dispose());
    this.subs.forEach((s) => s.dispose());
  }
}
