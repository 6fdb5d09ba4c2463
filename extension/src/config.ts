// Kiln's settings and kiln.toml, as the extension reads them. The language server reads the same
// (settings through workspace/didChangeConfiguration, kiln.toml at every request).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_BOARD } from './protocol';
import { tomlKey } from './taskArgs';

export interface Settings { pythonPath: string; board: string; outDir: string; heatShading: boolean }

export function settings(): Settings {
  const c = vscode.workspace.getConfiguration('kiln');
  return {
    pythonPath: c.get<string>('pythonPath', ''),
    board: c.get<string>('board', ''),
    outDir: c.get<string>('outDir', ''),
    heatShading: c.get<boolean>('heatShading', true),
  };
}

export function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** A plain string key of kiln.toml in the workspace root (board, out), or undefined. */
export function toml(key: 'board' | 'out'): string | undefined {
  const root = workspaceRoot();
  if (!root) return undefined;
  try {
    return tomlKey(fs.readFileSync(path.join(root, 'kiln.toml'), 'utf8'), key);
  } catch {
    return undefined;
  }
}

/** The board: the setting, else kiln.toml's, else host. */
export function currentBoard(): string {
  return settings().board || toml('board') || DEFAULT_BOARD;
}

export async function setBoard(board: string): Promise<void> {
  const target = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('kiln').update('board', board, target);
}
