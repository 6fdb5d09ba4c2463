// Bundles the extension (src/extension.ts -> dist/extension.js) and, with --tests, each unit test
// (test/unit/*.test.ts -> out/unit/*.test.js, run by `node --test`). The unit tests import only
// the pure modules, so they run without VS Code.
import * as esbuild from 'esbuild';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const production = process.argv.includes('--production');
mkdirSync(join(here, '..', 'build'), { recursive: true }); // where `npm run package` puts the VSIX
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node18', logLevel: 'warning' };

await esbuild.build({
  ...common,
  entryPoints: [join(here, 'src', 'extension.ts')],
  outfile: join(here, 'dist', 'extension.js'),
  external: ['vscode'],
  sourcemap: !production,
  minify: false, // readable in a stack trace; the bundle is small
});

if (process.argv.includes('--tests')) {
  const dir = join(here, 'test', 'unit');
  const entryPoints = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f));
  await esbuild.build({ ...common, entryPoints, outdir: join(here, 'out', 'unit'), external: ['vscode'] });
}
