// After a compile: when the workspace's build does not use the model yet, offer to add it. The
// edit is a WorkspaceEdit that needs confirmation, so VS Code shows it in the refactor preview and
// the user applies or discards it: Kiln never edits a build file silently.
import * as path from 'path';
import * as vscode from 'vscode';
import { appendedText, offerable, offerLabel } from './buildLines';
import type { BuildSystem } from './protocol';

export async function offerBuildEdit(b: BuildSystem | undefined): Promise<boolean> {
  if (!offerable(b)) return false;
  const file = vscode.Uri.parse(b.file);
  const label = offerLabel(b, path.basename(file.fsPath));
  const pick = await vscode.window.showInformationMessage(
    `Kiln: your ${path.basename(file.fsPath)} does not build ${b.model} yet.`, label);
  if (pick !== label) return false;
  const doc = await vscode.workspace.openTextDocument(file);
  const edit = new vscode.WorkspaceEdit();
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  edit.insert(file, end, appendedText(b, doc.getText()),
    { needsConfirmation: true, label, description: 'the lines that build and link the model' });
  return vscode.workspace.applyEdit(edit);
}
