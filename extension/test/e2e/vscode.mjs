// Starting a real VS Code (code-server) with the packaged extension, and the few gestures the
// end-to-end steps need, in one place: the steps (run.mjs) read as what a user does.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const TOOLS = process.env.KILN_TOOLS || join(ROOT, '.tools');
const NODE_BIN = join(TOOLS, 'node24', 'node_modules', 'node', 'bin');
const CODE_SERVER = join(TOOLS, 'code-server', 'node_modules', '.bin', 'code-server');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** A workspace with a model, settings and a tasks.json, and a user profile that keeps VS Code quiet. */
export function makeWorkspace({ python, board, trust = false }) {
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-e2e-'));
  const ws = join(tmp, 'firmware');
  mkdirSync(join(ws, 'models'), { recursive: true });
  mkdirSync(join(ws, '.vscode'), { recursive: true });
  cpSync(join(ROOT, 'examples', 'models', 'sine_int8.tflite'), join(ws, 'models', 'sine_int8.tflite'));
  // the user's own firmware build, which does not use the model yet
  writeFileSync(join(ws, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.13)\nproject(fw C)\nadd_executable(fw main.c)\n');
  writeFileSync(join(ws, 'main.c'), '#include "sine_int8.h"\n\nint main(void)\n{\n    sine_int8_input_t in = {{0}};\n'
    + '    sine_int8_output_t out;\n    return sine_int8_invoke(&in, &out);\n}\n');
  const wsSettings = python ? { 'kiln.pythonPath': python, 'kiln.board': board } : { 'kiln.board': board };
  writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify(wsSettings, null, 2));
  writeFileSync(join(ws, '.vscode', 'tasks.json'), JSON.stringify({
    version: '2.0.0',
    tasks: [{ type: 'kiln', command: 'build', model: 'models/sine_int8.tflite', board: 'host', label: 'kiln: build sine_int8 for host' }],
  }, null, 2));
  const data = join(tmp, 'data');
  mkdirSync(join(data, 'User'), { recursive: true });
  writeFileSync(join(data, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.colorTheme': 'Default Dark Modern',
    'terminal.integrated.gpuAcceleration': 'off', // the DOM renderer: terminal text is readable
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'editor.inlayHints.enabled': 'on',
    'editor.minimap.enabled': false,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'security.workspace.trust.enabled': trust, // on: VS Code asks whether to trust the folder
  }, null, 2));
  return { tmp, ws, data, trust, extensions: join(tmp, 'extensions'), xdg: join(tmp, 'xdg'), pathPrefix: '' };
}

function env(dirs) {
  return { ...process.env, PATH: `${dirs.pathPrefix}${NODE_BIN}:${process.env.PATH}`, XDG_CONFIG_HOME: join(dirs.xdg, 'config'), XDG_DATA_HOME: join(dirs.xdg, 'data') };
}

export function installExtension(dirs, vsix) {
  const r = spawnSync(CODE_SERVER, ['--install-extension', vsix, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs.data],
    { env: env(dirs), encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`code-server --install-extension failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

/** code-server on a free port; resolves once it answers /healthz. */
export async function startCodeServer(dirs) {
  const port = await freePort();
  const proc = spawn(CODE_SERVER, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    ...(dirs.trust ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override', '--extensions-dir', dirs.extensions,
    '--user-data-dir', dirs.data, dirs.ws],
  { env: env(dirs), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  proc.stdout.on('data', (b) => { log += b; });
  proc.stderr.on('data', (b) => { log += b; });
  const deadline = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited (${proc.exitCode}): ${log}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on port ${port} within 60 s: ${log}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.ws)}`, log: () => log,
    stop: () => { try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* gone */ } } };
}

// ---- gestures ----

/** The quick input VS Code shows now, known by its placeholder (an old one may still be fading out). */
async function quickInput(page, placeholder) {
  const input = page.locator(`.quick-input-widget input[placeholder*="${placeholder}"]`).first();
  await input.waitFor({ state: 'visible', timeout: 30000 });
  return input;
}

export async function commandPalette(page, command) {
  await page.keyboard.press('F1');
  const input = await quickInput(page, 'Type the name of a command');
  await input.fill(`>${command}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first();
  await row.waitFor({ state: 'visible', timeout: 15000 });
  await row.click(); // not Enter: the first row may be a recently used neighbour
}

/** Type into the quick input with this placeholder and choose the row showing `text`. */
export async function pickQuick(page, text, placeholder = '') {
  const input = await quickInput(page, placeholder);
  await input.fill(text);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout: 30000 });
  await row.click();
}

export function explorerRow(page, name) {
  return page.locator(`.explorer-folders-view .monaco-list-row[aria-label^="${name}"]`).first();
}

export function statusItem(page, text) {
  return page.locator('.statusbar-item', { hasText: text }).first();
}

export function notification(page, text) {
  return page.locator('.notification-toast', { hasText: text }).first();
}

/** The frame of the webview whose body has this id (webviews are nested iframes). */
export async function webviewFrame(page, bodyId, timeout = 60000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    for (const f of page.frames()) {
      try {
        if (await f.$(`body#${bodyId}`)) return f;
      } catch { /* detached */ }
    }
    if (Date.now() > deadline) throw new Error(`no webview with body#${bodyId} within ${timeout / 1000} s`);
    await page.waitForTimeout(250);
  }
}

/** Whether some webview frame shows `selector` within `timeout` ms (by the time several webviews of
 * a kind are open, or one reloaded into a new frame, a frame found earlier may be another's). */
export async function someFrameShows(page, selector, timeout) {
  const until = Date.now() + timeout;
  for (;;) {
    for (const f of page.frames()) {
      try {
        if (await f.$(selector)) return true;
      } catch { /* detached */ }
    }
    if (Date.now() > until) return false;
    await page.waitForTimeout(250);
  }
}

/** The text of the visible editor lines (inlay hints included: they are rendered as text). */
export async function editorText(page) {
  return page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText();
}
