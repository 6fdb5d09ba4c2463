// The `kiln` task type: a tasks.json entry -> the kiln command line. Pure logic (unit-tested).
import * as path from 'node:path';

export const COMMANDS = ['build', 'flash', 'run', 'profile'] as const;
export type TaskCommand = typeof COMMANDS[number];

export interface KilnTaskDefinition { type: 'kiln'; command: TaskCommand; model: string; board?: string }

export function problem(def: Partial<KilnTaskDefinition>): string | undefined {
  if (!def.command || !(COMMANDS as readonly string[]).includes(def.command)) {
    return `a kiln task needs "command": one of ${COMMANDS.join(', ')} (got ${JSON.stringify(def.command)})`;
  }
  if (!def.model || !def.model.endsWith('.tflite')) return `a kiln task needs "model": a .tflite file (got ${JSON.stringify(def.model)})`;
  return undefined;
}

/** Arguments after the interpreter: `python -m kiln <command> MODEL --board B --out DIR ...`. */
export function cliArgs(def: KilnTaskDefinition, board: string, outDir: string): string[] {
  // -P: the workspace folder (the task's cwd) must not shadow Kiln's modules
  const args = ['-P', '-m', 'kiln', def.command, def.model, '--board', board, '--out', outDir];
  if (def.command === 'flash') args.push('--exit'); // an emulated board stops once flashed and checked
  if (def.command === 'run') args.push('--compare');
  return args;
}

export function taskName(def: KilnTaskDefinition, board: string): string {
  return `${def.command} ${def.model} (${board})`;
}

/** The folder the generated C goes to, as the language server chooses it (server/kiln/lsp/server.py
 *  _out_dir): the setting, else kiln.toml's out, each with a <model> subfolder; else kiln_out/<model>
 *  beside the model. The task builds from it, so the user's edits count and gcc names their files. */
export function outDirFor(modelPath: string, root: string, setting: string | undefined, tomlOut: string | undefined): string {
  const stem = path.basename(modelPath, '.tflite');
  const base = setting || tomlOut;
  if (base) return path.join(path.isAbsolute(base) ? base : path.join(root, base), stem);
  return path.join(path.dirname(path.isAbsolute(modelPath) ? modelPath : path.join(root, modelPath)), 'kiln_out', stem);
}

/** `out = "..."` and `board = "..."` from kiln.toml (the two keys Kiln reads; plain strings only). */
export function tomlKey(text: string, key: string): string | undefined {
  const m = text.match(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, 'm'));
  return m ? m[1] : undefined;
}
