// Build: (1) bundle the CLI into dist/ with code splitting, so `berth --version` loads one
// small file and each subcommand's code is loaded only when that command runs; (2) transpile
// every source and test file into build/ for the test runner. Type checking is `npm run typecheck`.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const external = ['better-sqlite3', 'koffi'];
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const define = { BERTH_VERSION: JSON.stringify(pkg.version) };

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, 'build'), { recursive: true, force: true });

await esbuild.build({
  absWorkingDir: root,
  entryPoints: { berth: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  external,
  define,
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});

const files = [...walk(join(root, 'src')), ...walk(join(root, 'test')), ...walk(join(root, 'bench'))];
await esbuild.build({
  absWorkingDir: root,
  entryPoints: files,
  outdir: 'build',
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});
