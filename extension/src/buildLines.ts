// The lines that add a compiled model to the workspace's own build (the language server finds the
// build and writes them: server/kiln/compiler/buildsystem.py). Pure logic, unit-tested; buildEdit.ts offers
// them as an edit the user previews and accepts.
import type { BuildSystem } from './protocol';

/** Build files Kiln offers to edit: CMake-like and Make. PlatformIO and Arduino get the lines in
 *  the compile summary only. */
const EDITABLE = new Set(['cmake', 'make', 'zephyr', 'esp-idf']);

/** Whether to offer the edit: a build file that does not use the model yet, and lines without a
 *  placeholder for the user to fill. */
export function offerable(b: BuildSystem | undefined): b is BuildSystem & { kind: string; file: string } {
  return !!b && !!b.kind && !!b.file && !b.uses_model && EDITABLE.has(b.kind) && b.lines.length > 0
    && !b.lines.some((l) => l.includes('<your '));
}

/** The text appended to the build file: a comment naming the model, then the lines. */
export function appendedText(b: BuildSystem, existing: string): string {
  const sep = existing.length === 0 || existing.endsWith('\n') ? '' : '\n';
  return `${sep}\n# Kiln: ${b.model}\n${b.lines.join('\n')}\n`;
}

export function offerLabel(b: BuildSystem, fileName: string): string {
  return `Add ${b.model} to ${fileName}`;
}
