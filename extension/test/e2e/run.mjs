// End-to-end tests of the extension in a real VS Code: code-server with the packaged VSIX,
// driven in Debian's chromium by playwright-core, through the flows a user takes. Each step saves
// a screenshot in test-artifacts/e2e/; the run ends with "N passed, N failed" (exit 1 on failure).
//
//   node extension/test/e2e/run.mjs            (after `npm run package`; scripts/test.sh does both)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  commandPalette, editorText, explorerRow, installExtension, makeWorkspace, notification, pickQuick, ROOT,
  someFrameShows, startCodeServer, statusItem, webviewFrame,
} from './vscode.mjs';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e');
const VSIX = join(ROOT, 'build', 'kiln.vsix');
const PYTHON = process.env.KILN_PYTHON || join(ROOT, '.venv', 'bin', 'python');
const CHROMIUM = process.env.KILN_CHROMIUM || '/usr/bin/chromium';

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// Two sessions, each a fresh VS Code profile and workspace:
//   main:      a trusted workspace whose kiln.pythonPath is the project's .venv: the whole flow;
//   new user:  an untrusted workspace, no settings, and a python3 with none of Kiln's packages.
const sessions = [
  { name: 'main', options: { python: PYTHON, board: 'qemu-m4', trust: false }, steps: [] },
  { name: 'new user', options: { python: '', board: 'host', trust: true, barePython: true }, steps: [] },
];
let current = sessions[0];
const step = (name, fn) => current.steps.push({ name, fn });

// ---------------------------------------------------------------- main session, in a user's order

step('the workbench opens and Kiln shows the board from the settings', async ({ page }) => {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
  await statusItem(page, 'qemu-m4').waitFor({ timeout: 90000 });
  await statusItem(page, 'Flash').waitFor();
});

step('right-click a .tflite, Kiln: Compile Model, the generated C opens', async ({ page, dirs, shot }) => {
  await explorerRow(page, 'models').click();
  const model = explorerRow(page, 'sine_int8.tflite');
  await model.click({ button: 'right' });
  const item = page.locator('.monaco-menu .action-item', { hasText: 'Kiln: Compile Model' }).first();
  await item.hover();
  await shot('context-menu');
  await page.keyboard.press('Enter'); // monaco menus take the key reliably; a synthetic click can land during their fade-in
  await page.locator('.tab', { hasText: 'sine_int8.c' }).first().waitFor({ timeout: 120000 });
  await page.waitForFunction(() => document.querySelector('.editor-group-container.active .view-lines')?.textContent?.includes('op000_fully_connected'), null, { timeout: 30000 });
  expect(existsSync(join(dirs.ws, 'models', 'kiln_out', 'sine_int8', 'sine_int8.c')), 'the generated C is not in models/kiln_out/sine_int8/');
});

step('Kiln offers to add the model to the workspace CMakeLists.txt: a preview, Apply, the project builds', async ({ page, dirs, shot }) => {
  const cmakeLists = join(dirs.ws, 'CMakeLists.txt');
  const before = readFileSync(cmakeLists, 'utf8');
  const offer = notification(page, 'does not build sine_int8 yet');
  await offer.waitFor({ timeout: 60000 });
  await offer.locator('.monaco-button', { hasText: 'Add sine_int8 to CMakeLists.txt' }).click();
  const apply = page.locator('.monaco-button', { hasText: /^Apply$/ }).first();
  await apply.waitFor({ timeout: 30000 });
  const row = page.locator('.part.panel .monaco-tl-row', { hasText: 'CMakeLists.txt' }).first(); // the preview's, not the Explorer's
  await row.waitFor({ timeout: 30000 });
  await shot('cmake-preview');
  expect(readFileSync(cmakeLists, 'utf8') === before, 'CMakeLists.txt changed before Apply');
  // an edit that needs confirmation waits unticked in the preview: the user ticks it, then applies
  await row.locator('.edit-checkbox, input[type=checkbox], .monaco-checkbox').first().click();
  await shot('cmake-preview-ticked');
  await apply.click();
  await page.waitForTimeout(1000);
  await commandPalette(page, 'File: Save All'); // files.refactoring.autoSave saves it; in case it is open and dirty
  const deadline = Date.now() + 30000;
  while (readFileSync(cmakeLists, 'utf8') === before && Date.now() < deadline) await page.waitForTimeout(250);
  const after = readFileSync(cmakeLists, 'utf8');
  expect(after.includes('add_subdirectory(models/kiln_out/sine_int8)') && after.includes('target_link_libraries(fw PRIVATE kiln::sine_int8)'),
    `CMakeLists.txt after Apply:\n${after}`);
  const build = join(dirs.tmp, 'build-fw');
  for (const args of [['-S', dirs.ws, '-B', build], ['--build', build]]) {
    const r = spawnSync('cmake', args, { encoding: 'utf8', timeout: 300000 });
    expect(r.status === 0, `cmake ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  }
  expect(spawnSync(join(build, 'fw')).status === 0, 'the user\'s firmware built with the model did not run');
  // the workspace's own CMakeLists.txt (the Explorer lists it after the generated folder's), with Kiln's lines
  await page.locator('.explorer-folders-view .monaco-list-row[aria-label^="CMakeLists.txt"]').last().dblclick();
  await page.waitForFunction(() => (document.querySelector('.editor-group-container.active .view-lines')?.textContent ?? '')
    .includes('kiln::sine_int8'), null, { timeout: 30000 });
  await shot('cmake-applied');
});

step('a .tflite opens in the model report, with operators and the memory timeline', async ({ page }) => {
  await explorerRow(page, 'sine_int8.tflite').dblclick();
  const report = await webviewFrame(page, 'kiln-report');
  await report.locator('table.ops tbody tr').nth(2).waitFor({ timeout: 30000 });
  const kinds = await report.locator('table.ops tbody tr td:nth-child(2)').allInnerTexts();
  expect(kinds.join(',') === 'FULLY_CONNECTED,FULLY_CONNECTED,FULLY_CONNECTED', `operators: ${kinds}`);
  expect(await report.locator('svg.timeline rect.buf').count() >= 2, 'the memory timeline has no buffers');
  expect((await report.locator('.totals').innerText()).includes('288 MACs'), 'the totals do not say 288 MACs');
  // the report's title bar offers Compile
  await page.locator('.editor-actions .action-label[aria-label*="Compile Model"]').first().waitFor({ timeout: 10000 });
});

step('choose board host from the status bar', async ({ page, dirs }) => {
  await statusItem(page, 'qemu-m4').click();
  await pickQuick(page, 'host', 'now: qemu-m4');
  await statusItem(page, 'host').waitFor({ timeout: 15000 });
  const settings = JSON.parse(readFileSync(join(dirs.ws, '.vscode', 'settings.json'), 'utf8'));
  expect(settings['kiln.board'] === 'host', `kiln.board is ${settings['kiln.board']}`);
});

step('Flash from the status bar, then Profile from its notification', async ({ page }) => {
  await statusItem(page, 'Flash').click();
  const done = notification(page, 'flashed host');
  await done.waitFor({ timeout: 180000 });
  await done.locator('.monaco-button', { hasText: 'Profile' }).click();
  await statusItem(page, 'Flash').waitFor({ timeout: 180000 });
});

step('the device panel shows the outputs beside TFLite Micro, the latency chart and the log', async ({ page }) => {
  const panel = await webviewFrame(page, 'kiln-device');
  await panel.locator('#chart svg rect.bar').nth(2).waitFor({ timeout: 120000 });
  expect(await panel.locator('#chart svg rect.bar').count() === 3, 'the chart should have one bar per operator');
  const labels = await panel.locator('#chart svg text.label').allTextContents();
  expect(labels.join(',') === 'op000_fully_connected,op001_fully_connected,op002_fully_connected', `chart labels: ${labels}`);
  expect((await panel.locator('#outputs [data-testid=match]').innerText()) === 'bit-exact', 'the outputs do not match TFLite Micro');
  expect(await panel.locator('#outputs table.outputs tbody tr').count() === 1, 'one output value expected');
  expect((await panel.locator('#log').innerText()).includes('flashed host'), 'the log does not show the flash');
});

// Heat shading is a decoration the editor paints a frame or more after the inline hints: wait (up to
// 15 s) for at least `atLeast` shaded lines, then report how many there are.
async function shadedLines(page, atLeast) {
  const count = () => page.$$eval('.editor-group-container.active .view-overlays > div > div',
    (els) => els.filter((e) => getComputedStyle(e).backgroundColor.startsWith('rgba(255, 112, 0')).length);
  const until = Date.now() + 15000;
  let n = await count();
  while (n < atLeast && Date.now() < until) {
    await page.waitForTimeout(250);
    n = await count();
  }
  return n;
}

// The operator functions' lines of the shown C once at least `atLeast` of them, and all, match
// `hint` (the inline hints arrive a line or a frame apart: the first "µs" in the editor is not
// all of them), or as they are after `ms`.
async function operatorLines(page, hint, atLeast, ms) {
  const lines = async () => (await editorText(page)).replace(/\u00a0/g, ' ').split('\n')
    .filter((l) => l.startsWith('static void op00'));
  const until = Date.now() + ms;
  let functions = await lines();
  while (!(functions.length >= atLeast && functions.every((l) => hint.test(l))) && Date.now() < until) {
    await page.waitForTimeout(250);
    functions = await lines();
  }
  return functions;
}

step('the generated C shows each operator\'s latency inline, and heat shading', async ({ page }) => {
  await page.locator('.tab', { hasText: 'sine_int8.c' }).first().click();
  const hint = /\) ⏱ [\d.,]+ µs · [\d.]+%/;
  const functions = await operatorLines(page, hint, 2, 30000);
  expect(functions.length >= 2 && functions.every((l) => hint.test(l)), `operator lines: ${JSON.stringify(functions)}`);
  const shaded = await shadedLines(page, 1);
  expect(shaded > 0, 'no line is heat-shaded');
});

step('after an edit above the functions, Profile puts each figure on its own function\'s line', async ({ page, dirs, shot }) => {
  const c = join(dirs.ws, 'models', 'kiln_out', 'sine_int8', 'sine_int8.c');
  // typed and saved in the editor, as a user would
  await page.locator('.tab', { hasText: 'sine_int8.c' }).first().click();
  await page.locator('.editor-group-container.active .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.type('// a line of mine\n// and another\n'); // line comments: nothing to auto-close
  await page.keyboard.press('Control+S');
  const saved = Date.now() + 30000;
  while (!readFileSync(c, 'utf8').includes('a line of mine') && Date.now() < saved) await page.waitForTimeout(250);
  expect(readFileSync(c, 'utf8').includes('a line of mine'), 'the edit was not saved');
  // Profile from the device panel's own button: it stays there, unlike a notification's
  await (await webviewFrame(page, 'kiln-device')).locator('nav.actions button', { hasText: 'Profile' }).click();
  await page.locator('.statusbar', { hasText: 'nanoseconds' }).first().waitFor({ timeout: 180000 }); // "Kiln: sine_int8 on host: N nanoseconds"
  await page.locator('.tab', { hasText: 'sine_int8.c' }).first().click();
  await page.waitForFunction(() => (document.querySelector('.editor-group-container.active .view-lines')?.textContent ?? '').includes('µs'), null, { timeout: 120000 });
  const text = (await editorText(page)).replace(/\u00a0/g, ' ');
  expect(text.includes('a line of mine'), 'the edited file is not the one shown');
  const hinted = text.split('\n').filter((l) => l.includes('⏱'));
  expect(hinted.length >= 1 && hinted.every((l) => /^static void op00\d_\w+\(uint8_t \*arena\) ⏱ /.test(l)), `hinted lines: ${JSON.stringify(hinted)}`);
  const shaded = await shadedLines(page, 8);
  expect(shaded >= 8, `only ${shaded} lines are heat-shaded (a function is 8 lines or more)`);
  await page.keyboard.press('Control+Home'); // the view back to the first column, for the screenshot
  await page.waitForTimeout(300);
  await shot('hints-after-edit');
});

step('Compare Layer by Layer: an edited operator is the first to differ, in the panel\'s table and as a diagnostic on its function; a row reveals its function', async ({ page, dirs, shot }) => {
  const c = join(dirs.ws, 'models', 'kiln_out', 'sine_int8', 'sine_int8.c');
  const original = readFileSync(c, 'utf8');
  const hadNew = existsSync(`${c}.kiln-new`);
  const lines = original.split('\n');
  const fn = (name) => lines.findIndex((l) => l.startsWith(`static void ${name}(`));
  const [op1, op2] = [fn('op001_fully_connected'), fn('op002_fully_connected')];
  const clamp = lines.findIndex((l, i) => i > op1 && l.includes('.act_max = 127'));
  expect(op1 > 0 && op2 > op1 && clamp > op1 && clamp < op2, `op001 at ${op1}, op002 at ${op2}, its clamp at ${clamp}`);
  lines[clamp] = lines[clamp].replace('.act_max = 127', '.act_max = -60'); // op001's outputs clamped low: wrong from there on
  writeFileSync(c, lines.join('\n'));
  try {
    await commandPalette(page, 'Kiln: Compare Layer by Layer');
    const panel = await webviewFrame(page, 'kiln-device');
    const verdict = panel.locator('#diff [data-testid=diff-verdict]');
    await verdict.waitFor({ timeout: 180000 });
    expect((await verdict.innerText()) === 'operator 1 is the first to differ', `verdict: ${await verdict.innerText()}`);
    const rows = panel.locator('#diff [data-testid=diff-row]');
    expect(await rows.count() === 3, 'the table should have one row per operator');
    expect((await rows.nth(1).getAttribute('class')).includes('first'), 'operator 1 is not marked first');
    expect(!(await rows.nth(0).getAttribute('class')).includes('bad'), 'operator 0 should match');
    await shot('compare-table');
    // the diagnostic: on op001's function line, in Problems (opened from the status bar's problem counts)
    await page.locator('[id="status.problems"]').first().click();
    await page.getByRole('tab', { name: /^Problems/ }).first().click();
    const marker = page.locator('.markers-panel .monaco-list-row', { hasText: 'first to differ' }).first();
    await marker.waitFor({ timeout: 30000 });
    const at = /Ln (\d+)/.exec(await marker.innerText());
    expect(at && Number(at[1]) === op1 + 1, `the diagnostic is at ${at && at[1]}, op001_fully_connected is at line ${op1 + 1}`);
    // a row of the table: its function in the C (the cursor on its line)
    await page.locator('.tab', { hasText: 'Kiln Device' }).first().click();
    await (await webviewFrame(page, 'kiln-device')).locator('#diff [data-testid=diff-row][data-function=op002_fully_connected]').click();
    await page.locator('.statusbar-item', { hasText: `Ln ${op2 + 1},` }).first().waitFor({ timeout: 30000 });
    await page.waitForTimeout(300);
    await shot('compare-reveal');
  } finally {
    writeFileSync(c, original); // the later steps build the C as generated
    if (!hadNew) rmSync(`${c}.kiln-new`, { force: true }); // the comparison kept the edit and wrote the new C beside it
  }
});

step('a kiln task from tasks.json runs from the task list', async ({ page }) => {
  await commandPalette(page, 'Tasks: Run Task');
  await pickQuick(page, 'kiln: build sine_int8 for host', 'Select the task to run');
  await page.waitForFunction(() => /built .*sine_int8/.test(document.querySelector('.terminal-wrapper.active .xterm-rows')?.textContent ?? ''), null, { timeout: 120000 });
});

step('a compiler error in edited C lands in the Problems view', async ({ page, dirs }) => {
  const c = join(dirs.ws, 'models', 'kiln_out', 'sine_int8', 'sine_int8.c');
  const lines = readFileSync(c, 'utf8').split('\n');
  const k = lines.findIndex((l) => l.startsWith('static void op001_')) + 1;
  lines[k] += ' kiln_e2e_not_c;';
  writeFileSync(c, lines.join('\n'));
  await commandPalette(page, 'Tasks: Run Task');
  await pickQuick(page, 'kiln: build sine_int8 for host', 'Select the task to run');
  // the task's terminal comes to the front while it runs: look at Problems once it has ended
  await page.waitForFunction(() => /exit code: 2/.test(document.querySelector('.terminal-wrapper.active .xterm-rows')?.textContent ?? ''), null, { timeout: 120000 });
  await page.getByRole('tab', { name: /^Problems/ }).first().click();
  const marker = page.locator('.markers-panel .monaco-list-row', { hasText: 'kiln_e2e_not_c' }).first();
  await marker.waitFor({ timeout: 120000 });
  expect((await page.locator('.markers-panel').innerText()).includes('sine_int8.c'), 'the problem does not name sine_int8.c');
});

step('Kiln: Tune on the Board shows the untuned and tuned latency side by side', async ({ page, dirs }) => {
  await commandPalette(page, 'Kiln: Tune on the Board');
  await notification(page, 'Kiln: tuning sine_int8.tflite on host').waitFor({ timeout: 30000 }); // cancellable progress
  await commandPalette(page, 'Kiln: Run on the Board'); // one device command at a time
  await notification(page, 'tuning sine_int8.tflite on host is under way').waitFor({ timeout: 30000 });
  await notification(page, 'tuned sine_int8 on host').waitFor({ timeout: 180000 });
  const panel = await webviewFrame(page, 'kiln-device');
  expect(await panel.locator('#chart svg rect.before').count() === 3, 'the chart shows no "before" bars');
  expect((await panel.locator('#log').innerText()).includes('tuning sine_int8.tflite on host'), 'the log does not show the tuning');
  expect(existsSync(join(dirs.ws, 'models', 'kiln-tuning.json')), 'no tuning log beside the model');
  await page.keyboard.press('Escape');
});

step('the device panel keeps its outputs and chart across a window reload', async ({ page }) => {
  await commandPalette(page, 'Developer: Reload Window');
  await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
  await statusItem(page, 'Flash').waitFor({ timeout: 90000 });
  await page.locator('.tab', { hasText: 'Kiln Device' }).first().click();
  const panel = await webviewFrame(page, 'kiln-device');
  await panel.locator('#chart svg rect.bar').nth(2).waitFor({ timeout: 30000 });
  expect((await panel.locator('#outputs [data-testid=match]').innerText()) === 'bit-exact', 'the outputs are gone after the reload');
});

step('on a QEMU board the figures are instructions, with no µs: panel, bars and inline hints', async ({ page, dirs, shot }) => {
  // undo the compile error an earlier step put in the generated C, so that the firmware builds
  const c = join(dirs.ws, 'models', 'kiln_out', 'sine_int8', 'sine_int8.c');
  writeFileSync(c, readFileSync(c, 'utf8').replace(' kiln_e2e_not_c;', ''));
  await statusItem(page, 'host').click();
  await pickQuick(page, 'qemu-m4', 'now: host');
  await statusItem(page, 'qemu-m4').waitFor({ timeout: 15000 });
  await page.locator('.quick-input-widget').first().waitFor({ state: 'hidden', timeout: 15000 }); // the board pick has closed
  await page.locator('.tab', { hasText: 'sine_int8.c' }).first().click();
  await commandPalette(page, 'Kiln: Profile on the Board');
  const panel = await webviewFrame(page, 'kiln-device');
  const chartMeta = panel.locator('#chart p.meta', { hasText: 'on qemu-m4' }).first();
  await chartMeta.waitFor({ timeout: 300000 });
  const meta = await chartMeta.innerText();
  expect(/[\d,]+ instructions in all \(exact instruction counts\)/.test(meta) && !meta.includes('µs'), `panel: ${meta}`);
  const values = await panel.locator('#chart svg text.value').allTextContents();
  expect(values.length === 3 && values.every((v) => / instructions · [\d.]+%$/.test(v)), `bars: ${values}`);
  await page.locator('.tab', { hasText: 'sine_int8.c' }).first().click();
  await page.waitForFunction(() => /⏱\s[\d,]+\sinstructions/.test((document.querySelector('.editor-group-container.active .view-lines')?.textContent ?? '').replace(/\u00a0/g, ' ')), null, { timeout: 60000 });
  const text = (await editorText(page)).replace(/\u00a0/g, ' ');
  const functions = text.split('\n').filter((l) => l.startsWith('static void op00'));
  expect(functions.length >= 1 && functions.every((l) => /\) ⏱ [\d,]+ instructions · [\d.]+%/.test(l) && !l.includes('µs')),
    `operator lines: ${JSON.stringify(functions)}`);
  await shot('qemu-instructions');
});

step('a model that fails to compile: Problems and a notification, Flash untouched; Flash then flashes the other model', async ({ page, dirs, shot }) => {
  writeFileSync(join(dirs.ws, 'models', 'broken.tflite'), 'this is not a TensorFlow Lite model');
  const broken = explorerRow(page, 'broken.tflite');
  await broken.waitFor({ timeout: 30000 });
  await broken.click({ button: 'right' });
  await page.locator('.monaco-menu .action-item', { hasText: 'Kiln: Compile Model' }).first().hover();
  await page.keyboard.press('Enter');
  await notification(page, 'not a TensorFlow Lite model').waitFor({ timeout: 60000 });
  await page.getByRole('tab', { name: /^Problems/ }).first().click();
  await page.locator('.markers-panel .monaco-list-row', { hasText: 'not a TensorFlow Lite model' }).first().waitFor({ timeout: 30000 });
  expect((await page.locator('.markers-panel').innerText()).includes('broken.tflite'), 'the problem does not name broken.tflite');
  expect(await page.locator('.statusbar-item', { hasText: 'failed' }).count() === 0, 'a failed compile took over the status bar');
  await statusItem(page, 'Flash').waitFor();
  await shot('compile-failed');
  // its report says why, and offers no Compile
  await broken.dblclick();
  // its own report's frame (the other model's report is open too)
  expect(await someFrameShows(page, 'body#kiln-report:has-text("not a TensorFlow Lite model")', 30000),
    'the report of broken.tflite does not say what is wrong');
  await page.waitForTimeout(1000);
  expect(await page.locator('.editor-actions .action-label[aria-label*="Compile Model"]').count() === 0,
    'the report of a model that cannot compile offers Compile');
  await page.locator('.tab', { hasText: 'sine_int8.c' }).first().click();
  await statusItem(page, 'Flash').click();
  await notification(page, 'flashed qemu-m4').waitFor({ timeout: 300000 });
  expect((await page.locator('.statusbar').innerText()).includes('Flash'), 'Flash is not back after the flash');
  const log = await (await webviewFrame(page, 'kiln-device')).locator('#log').innerText();
  expect(/flashing sine_int8\.tflite on qemu-m4/.test(log) && !/flashing broken/.test(log), `the flash was not sine_int8's: ${log.slice(-400)}`);
});

step('an edited generated file survives a recompile: a warning with Compare and Replace with New, in Output and Problems too', async ({ page, dirs, shot }) => {
  const c = join(dirs.ws, 'models', 'kiln_out', 'sine_int8', 'sine_int8.c');
  const fresh = `${c}.kiln-new`;
  writeFileSync(c, `/* my own note */\n${readFileSync(c, 'utf8')}`);
  const compile = async () => {
    await explorerRow(page, 'sine_int8.tflite').click({ button: 'right' });
    await page.locator('.monaco-menu .action-item', { hasText: 'Kiln: Compile Model' }).first().hover();
    await page.keyboard.press('Enter');
    const warning = notification(page, 'you edited sine_int8.c');
    await warning.waitFor({ timeout: 120000 });
    return warning;
  };
  let warning = await compile();
  expect((await warning.innerText()).includes('sine_int8.c.kiln-new'), 'the warning does not name the new version');
  expect(readFileSync(c, 'utf8').startsWith('/* my own note */') && existsSync(fresh), 'the edit was not kept beside the new version');
  await page.getByRole('tab', { name: /^Problems/ }).first().click();
  await page.locator('.markers-panel .monaco-list-row', { hasText: 'you edited sine_int8.c' }).first().waitFor({ timeout: 30000 });
  await warning.locator('.monaco-button', { hasText: 'Compare' }).click();
  await page.locator('.tab', { hasText: '(yours)' }).first().waitFor({ timeout: 30000 });
  await page.locator('.editor-group-container.active .monaco-diff-editor').first().waitFor({ timeout: 30000 });
  await shot('compare-kept-edit');
  await commandPalette(page, 'Kiln: Show Output');
  await page.waitForFunction(() => /\[kept\][^\n]*sine_int8\.c/.test(document.querySelector('.part.panel .view-lines')?.textContent ?? ''), null, { timeout: 30000 });
  warning = await compile();
  await warning.locator('.monaco-button', { hasText: 'Replace with New' }).click();
  const deadline = Date.now() + 30000;
  while (existsSync(fresh) && Date.now() < deadline) await page.waitForTimeout(250);
  expect(!existsSync(fresh) && !readFileSync(c, 'utf8').includes('my own note'), 'Replace with New did not put the new version in place');
  await page.getByRole('tab', { name: /^Problems/ }).first().click();
  await page.waitForTimeout(500);
  expect(!(await page.locator('.markers-panel').innerText()).includes('you edited sine_int8.c'), 'the kept-edit problem stayed after the replace');
});

// ---------------------------------------------------------------- new user, untrusted workspace
current = sessions[1];

step('a new user with only Python: the walkthrough and a set-up state, no error at start-up', async ({ page, shot }) => {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
  // the walkthrough opens on the first start, at its first step: Python
  await page.getByText('Get started with Kiln').first().waitFor({ timeout: 60000 });
  await page.getByText('Set up Python').first().waitFor({ timeout: 30000 });
  // Python was looked for quietly: a status-bar state, not an error toast
  await statusItem(page, 'Kiln: set up Python').waitFor({ timeout: 90000 });
  await page.waitForTimeout(2000);
  expect(await page.locator('.notification-toast').count() === 0,
    `notifications at start-up: ${await page.locator('.notification-toast').allInnerTexts()}`);
  await shot('first-run');
});

step('opening a model offers to install the packages, then the report works and the set-up state goes', async ({ page }) => {
  await explorerRow(page, 'models').click();
  await explorerRow(page, 'sine_int8.tflite').dblclick();
  const offer = notification(page, "no Python can run Kiln's language server");
  await offer.waitFor({ timeout: 90000 });
  expect((await offer.innerText()).includes('lacks'), 'the message does not say what is missing');
  await offer.locator('.monaco-button', { hasText: 'Install Python Packages' }).click();
  await notification(page, "installing the language server's Python packages").waitFor({ timeout: 30000 });
  // the report opened before the server could start: it reloads by itself once the install is done
  expect(await someFrameShows(page, 'body#kiln-report table.ops tbody tr:nth-child(3)', 600000), // pip, from PyPI or its cache
    'the model report did not show the model after the install');
  await statusItem(page, 'Kiln: set up Python').waitFor({ state: 'hidden', timeout: 30000 });
});

step('an untrusted workspace: reports only, no Compile or Flash', async ({ page }) => {
  await statusItem(page, 'Restricted Mode').waitFor();
  await statusItem(page, 'host').waitFor();
  expect(await page.locator('.statusbar-item', { hasText: 'Flash' }).count() === 0, 'Flash is offered in an untrusted workspace');
  await explorerRow(page, 'sine_int8.tflite').click({ button: 'right' });
  await page.locator('.monaco-menu .action-item', { hasText: 'Kiln: Open Model Report' }).first().waitFor();
  expect(await page.locator('.monaco-menu .action-item', { hasText: 'Kiln: Compile Model' }).count() === 0, 'Compile is offered in an untrusted workspace');
  await page.keyboard.press('Escape');
});

// ---------------------------------------------------------------- the runner

async function runSession(session, browser, counts) {
  const dirs = makeWorkspace(session.options);
  if (session.options.barePython) {
    // a python3 first on PATH with none of Kiln's packages, as on a machine that never ran Kiln
    const bare = join(dirs.tmp, 'bare-python');
    const r = spawnSync('python3', ['-m', 'venv', bare], { encoding: 'utf8' });
    expect(r.status === 0, `python3 -m venv failed: ${r.stderr}`);
    dirs.pathPrefix = `${join(bare, 'bin')}:`;
  }
  console.log(`e2e: session "${session.name}": ${installExtension(dirs, VSIX).split('\n').pop()}`);
  const server = await startCodeServer(dirs);
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(server.url);
    for (const s of session.steps) {
      counts.n++;
      const shot = join(ARTIFACTS, `${String(counts.n).padStart(2, '0')}-${s.name.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '').toLowerCase().slice(0, 60)}`);
      const t0 = Date.now();
      try {
        const extra = (label) => page.screenshot({ path: `${shot}-${label}.png` });
        await s.fn({ page, dirs, shot: extra });
        await page.waitForTimeout(400); // let the last frame settle for the screenshot
        await page.screenshot({ path: `${shot}.png` });
        counts.passed++;
        console.log(`  ok    ${s.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (e) {
        counts.failed++;
        await page.screenshot({ path: `${shot}-FAILED.png` }).catch(() => undefined);
        console.log(`  FAIL  ${s.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n        ${String(e.message ?? e).split('\n').slice(0, 6).join('\n        ')}`);
        await page.keyboard.press('Escape').catch(() => undefined);
      }
    }
  } finally {
    await context.close().catch(() => undefined);
    server.stop();
    if (counts.failed) writeFileSync(join(ARTIFACTS, `code-server-${session.name.replace(/ /g, '-')}.log`), server.log());
    rmSync(dirs.tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 }); // its processes may still be closing files
  }
}

async function main() {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  expect(existsSync(VSIX), `${VSIX} is missing: run \`npm run package\` first`);
  expect(existsSync(PYTHON), `${PYTHON} is missing: run scripts/setup.sh first`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] });
  const counts = { n: 0, passed: 0, failed: 0 };
  try {
    for (const session of sessions) await runSession(session, browser, counts);
  } finally {
    await browser.close().catch(() => undefined);
  }
  console.log(`e2e: screenshots in ${ARTIFACTS}`);
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exitCode = counts.failed ? 1 : 0;
}

main().catch((e) => {
  console.error(`e2e: ${e.message ?? e}`);
  console.log(`0 passed, ${sessions.reduce((n, s) => n + s.steps.length, 0)} failed`);
  process.exitCode = 1;
});
