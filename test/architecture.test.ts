// Enforces the import direction of DESIGN.md: each module imports only the modules its row
// allows, only through their index.ts, and files starting with `_` stay private to their folder.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

const base = ['oci', 'util', 'errors'];
const ALLOWED: Record<string, string[]> = {
  errors: [],
  util: ['errors'],
  oci: ['errors'],
  archive: ['oci', 'util', 'errors'],
  store: base,
  registry: base,
  image: ['registry', 'store', 'archive', ...base],
  runtime: base,
  network: base,
  container: ['image', 'store', 'runtime', 'network', 'archive', ...base],
  builder: ['container', 'image', 'store', 'archive', ...base],
  engine: ['container', 'builder', 'image', 'store', 'archive', 'registry', 'runtime', 'network', ...base],
  cli: ['engine', 'errors', 'oci'],
  api: ['engine', 'errors', 'oci'],
  'registry-server': ['engine', 'errors', 'oci'],
  kube: ['engine', 'errors', 'oci'],
  listen: ['engine', 'errors', 'oci'],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re =
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

test('every src module is listed in the DESIGN.md import table', () => {
  for (const name of readdirSync(src)) {
    if (statSync(join(src, name)).isDirectory())
      assert.ok(name in ALLOWED, `module ${name} is not in the table`);
  }
});

test("imports point down only, through index.ts, and never into another folder's _private files", () => {
  const violations: string[] = [];
  for (const file of walk(src)) {
    const from = relative(src, file).split(sep)[0]!;
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const rel = relative(src, target);
      if (rel.startsWith('..')) {
        violations.push(`${relative(root, file)} imports ${spec} from outside src`);
        continue;
      }
      const to = rel.split(sep)[0]!;
      if (to === from) {
        const name = target.split(sep).at(-1)!;
        if (
          name.startsWith('_') &&
          dirname(target) !== dirname(file) &&
          !dirname(file).startsWith(dirname(target))
        ) {
          violations.push(`${relative(root, file)} imports private ${spec}`);
        }
        continue;
      }
      if (!ALLOWED[from]!.includes(to))
        violations.push(`${relative(root, file)}: ${from}/ may not import ${to}/ (${spec})`);
      if (rel !== join(to, 'index.js'))
        violations.push(`${relative(root, file)} imports ${spec}; use ${to}/index.js`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the checker itself catches a bad import', () => {
  // guard against a regex that silently matches nothing
  const sample = join(src, 'cli', 'main.ts');
  assert.ok(importsOf(sample).some((s) => s.includes('errors/index.js')));
});
