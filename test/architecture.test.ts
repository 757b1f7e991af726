// Enforces the import direction of DESIGN.md: each module imports only the modules its row
// allows, only through their index.ts, and files starting with `_` stay private to their folder.
// It also closes the back door: a front end may import engine/, so engine/ must not hand out
// what lies below it (re-exported values, or getters returning a store, a registry client or a
// container manager). Each check is a function from source to violations, so the tests below can
// feed it bad input and see it fail.
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
  // cli/ starts the long-running front ends (`system service`)
  cli: ['engine', 'errors', 'oci', 'api'],
  api: ['engine', 'errors', 'oci'],
  'registry-server': ['engine', 'errors', 'oci'],
  kube: ['engine', 'errors', 'oci'],
  listen: ['engine', 'errors', 'oci'],
};

/** The modules under engine/ that hold live objects; a front end must never get one. */
const BELOW_ENGINE = ['container', 'builder', 'image', 'store', 'archive', 'registry', 'runtime', 'network'];

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function importsIn(text: string): string[] {
  const specs: string[] = [];
  const re =
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

function importsOf(file: string): string[] {
  return importsIn(readFileSync(file, 'utf8'));
}

/** Top-level module of a src-relative path, or undefined outside src. */
function moduleOf(absPath: string): string | undefined {
  const rel = relative(src, absPath);
  return rel.startsWith('..') ? undefined : rel.split(sep)[0];
}

/**
 * `file` (a path relative to src/) imports `imports`: down only, through index.ts, never into
 * another folder's `_private` files.
 */
export function checkImports(file: string, imports: string[]): string[] {
  const abs = join(src, file);
  const from = moduleOf(abs)!;
  const violations: string[] = [];
  for (const spec of imports) {
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(abs), spec);
    const to = moduleOf(target);
    if (to === undefined) {
      violations.push(`src/${file} imports ${spec} from outside src`);
      continue;
    }
    if (to === from) {
      const name = target.split(sep).at(-1)!;
      if (
        name.startsWith('_') &&
        dirname(target) !== dirname(abs) &&
        !dirname(abs).startsWith(dirname(target))
      ) {
        violations.push(`src/${file} imports private ${spec}`);
      }
      continue;
    }
    if (!(ALLOWED[from] ?? []).includes(to))
      violations.push(`src/${file}: ${from}/ may not import ${to}/ (${spec})`);
    if (relative(src, target) !== join(to, 'index.js'))
      violations.push(`src/${file} imports ${spec}; use ${to}/index.js`);
  }
  return violations;
}

/** Does `spec`, written in engine/`file`, lead below the engine (or into its private wiring)? */
function leadsBelow(file: string, spec: string): boolean {
  if (!spec.startsWith('.')) return false;
  const target = resolve(dirname(join(src, file)), spec);
  const to = moduleOf(target);
  if (to !== undefined && BELOW_ENGINE.includes(to)) return true;
  return to === 'engine' && /^_parts\.[jt]s$/.test(target.split(sep).at(-1)!);
}

/** Names in `{ a, type b, c as d }` that are values (not `type`), by their exported name. */
function valueNames(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('type '))
    .map((s) =>
      s
        .split(/\s+as\s+/)
        .at(-1)!
        .trim(),
    );
}

/**
 * A public engine file (engine/index.ts and every non-`_` file it re-exports) hands front ends
 * types from the modules below, never values: no `export { Store } from '../store/…'`, no
 * `export * from …`, and no imported value exported again under `export { … }`.
 */
export function checkEngineFace(file: string, source: string): string[] {
  const violations: string[] = [];
  const reexport = /export\s+(type\s+)?(?:\{([^}]*)\}|\*(?:\s+as\s+(\w+))?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(reexport)) {
    const [, typeOnly, list, , spec] = m;
    if (typeOnly || !leadsBelow(file, spec!)) continue;
    if (list === undefined) {
      violations.push(`src/${file} re-exports everything of ${spec} (types only may pass the engine)`);
      continue;
    }
    for (const name of valueNames(list)) violations.push(`src/${file} re-exports value ${name} from ${spec}`);
  }
  // two steps: import a value from below, then `export { it }`
  const imported = new Set<string>();
  const importRe = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(importRe)) {
    if (!m[1] && leadsBelow(file, m[3]!)) for (const n of valueNames(m[2]!)) imported.add(n);
  }
  for (const m of source.matchAll(/import\s+\*\s+as\s+(\w+)\s+from\s*['"]([^'"]+)['"]/g)) {
    if (leadsBelow(file, m[2]!)) imported.add(m[1]!);
  }
  for (const m of source.matchAll(/export\s+(type\s+)?\{([^}]*)\}(?!\s*from)/g)) {
    if (m[1]) continue;
    for (const s of m[2]!.split(',').map((x) => x.trim())) {
      const local = s
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]!
        .trim();
      if (!s.startsWith('type ') && imported.has(local))
        violations.push(`src/${file} exports ${local}, a value from below the engine`);
    }
  }
  for (const m of source.matchAll(/export\s+(?:const|let|var)\s+(\w+)\s*(?::[^=]+)?=\s*([\w.]+)\s*;/g)) {
    const head = m[2]!.split('.')[0]!;
    if (imported.has(head))
      violations.push(`src/${file} exports ${m[1]} = ${m[2]}, a value from below the engine`);
  }
  return violations;
}

/** The source of `class Engine { … }`, by brace matching (strings with braces are not expected). */
function engineClassBody(source: string): string | undefined {
  const start = source.search(/export\s+class\s+Engine\b/);
  if (start < 0) return undefined;
  const open = source.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(open + 1, i);
  }
  return undefined;
}

/**
 * The Engine class keeps its parts to itself: no getter named store/registry/containers, and the
 * classes of the modules below it (and its private wiring) appear only in `#private` fields and
 * their initialisation, so no method, getter or public property can return one.
 */
export function checkEngineClass(source: string, lowerClasses: string[]): string[] {
  const body = engineClassBody(source);
  if (body === undefined) return ['no `export class Engine` found'];
  const violations: string[] = [];
  for (const m of body.matchAll(/\bget\s+(store|registry|containers|parts)\s*\(/g)) {
    violations.push(`Engine has a getter "${m[1]}": front ends would reach the layer below through it`);
  }
  const names = new RegExp(`\\b(${lowerClasses.join('|')})\\b`);
  for (const line of body.split('\n')) {
    const hit = names.exec(line);
    if (!hit) continue;
    const privateField = /^\s*(?:readonly\s+)?#\w+\s*[:=]/.test(line);
    const privateInit = /^\s*this\.#\w+\s*=\s*new\s+\w+\(/.test(line);
    if (!privateField && !privateInit) violations.push(`Engine exposes ${hit[1]}: ${line.trim()}`);
  }
  return violations;
}

/** Classes exported by files of the modules below the engine, plus the engine's own wiring. */
function classesBelowEngine(): string[] {
  const out = new Set<string>(['Parts']);
  for (const mod of BELOW_ENGINE) {
    let files: string[] = [];
    try {
      files = walk(join(src, mod));
    } catch {
      continue; // a module that does not exist yet
    }
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/export\s+(?:abstract\s+)?class\s+(\w+)/g)) {
        if (!/Error$/.test(m[1]!)) out.add(m[1]!);
      }
    }
  }
  return [...out];
}

test('every src module is listed in the DESIGN.md import table', () => {
  for (const name of readdirSync(src)) {
    if (statSync(join(src, name)).isDirectory())
      assert.ok(name in ALLOWED, `module ${name} is not in the table`);
  }
});

test("imports point down only, through index.ts, and never into another folder's _private files", () => {
  const violations = walk(src).flatMap((f) => checkImports(relative(src, f), importsOf(f)));
  assert.deepEqual(violations, []);
});

test('the import checker fails on bad imports', () => {
  // the regex finds imports at all
  assert.ok(importsOf(join(src, 'cli', 'main.ts')).some((s) => s.includes('errors/index.js')));
  assert.equal(checkImports('cli/commands/volume/ls.ts', ['../../../engine/index.js']).length, 0);
  // a front end reaching the store directly
  assert.match(
    checkImports('cli/commands/volume/ls.ts', ['../../../store/index.js']).join('\n'),
    /cli\/ may not import store\//,
  );
  assert.match(
    checkImports('cli/commands/x.ts', ['../../store/index.js']).join('\n'),
    /may not import store/,
  );
  // a front end reaching the engine's private wiring
  assert.match(checkImports('cli/main.ts', ['../engine/_parts.js']).join('\n'), /use engine\/index\.js/);
  // a module importing upwards, and into a sibling's private file
  assert.match(
    checkImports('store/index.ts', ['../engine/index.js']).join('\n'),
    /store\/ may not import engine\//,
  );
  assert.match(checkImports('engine/engine.ts', ['../store/_store.js']).join('\n'), /use store\/index\.js/);
  assert.match(checkImports('cli/commands/image/ls.ts', ['../container/_attach.js']).join('\n'), /private/);
});

test("engine/'s public files re-export only types from the modules below it", () => {
  const publicFiles = walk(join(src, 'engine')).filter((f) => !f.split(sep).at(-1)!.startsWith('_'));
  assert.ok(publicFiles.some((f) => f.endsWith(`engine${sep}index.ts`)));
  const violations = publicFiles.flatMap((f) => checkEngineFace(relative(src, f), readFileSync(f, 'utf8')));
  assert.deepEqual(violations, []);
});

test('the engine-face checker fails on a value passed through', () => {
  const ok = [
    "export type { Store } from '../store/index.js';",
    "export { type Store, type VolumeRecord } from '../store/index.js';",
    "export { createEngine, Engine } from './engine.js';",
    "export * as flags from './flags.js';",
  ].join('\n');
  assert.deepEqual(checkEngineFace('engine/index.ts', ok), []);
  const bad: [string, RegExp][] = [
    ["export { Store } from '../store/index.js';", /value Store/],
    ["export { type VolumeRecord, Store as Db } from '../store/index.js';", /value Db/],
    ["export { ContainerManager } from '../container/index.js';", /value ContainerManager/],
    ["export * from '../registry/index.js';", /everything/],
    ["export * as store from '../store/index.js';", /everything/],
    ["export { Parts } from './_parts.js';", /value Parts/],
    [
      "import { RegistryClient } from '../registry/index.js';\nexport { RegistryClient };",
      /exports RegistryClient/,
    ],
    ["import * as s from '../store/index.js';\nexport const open = s.Store;", /exports open/],
  ];
  for (const [source, want] of bad)
    assert.match(checkEngineFace('engine/index.ts', source).join('\n'), want, source);
});

test('the Engine class hands out no store, registry client or container manager', () => {
  const lower = classesBelowEngine();
  for (const c of ['Store', 'RegistryClient', 'ContainerManager', 'Parts']) assert.ok(lower.includes(c), c);
  const source = readFileSync(join(src, 'engine', 'engine.ts'), 'utf8');
  assert.deepEqual(checkEngineClass(source, lower), []);
});

test('the Engine-class checker fails on a getter or member that leaks a lower layer', () => {
  const lower = ['Store', 'RegistryClient', 'ContainerManager', 'Parts'];
  const wrap = (members: string) => `export class Engine {\n${members}\n}\n`;
  const good = wrap(
    '  readonly #parts: Parts;\n  constructor(o: EngineOptions) {\n    this.#parts = new Parts(o);\n  }\n  info(): Info {\n    return {};\n  }',
  );
  assert.deepEqual(checkEngineClass(good, lower), []);
  const bad: [string, RegExp][] = [
    ['  get store(): Store {\n    return this.#parts.store;\n  }', /getter "store"/],
    ['  get containers() {\n    return this.#parts.containers;\n  }', /getter "containers"/],
    ['  registryClient(): RegistryClient {\n    return this.#parts.registry;\n  }', /exposes RegistryClient/],
    ['  readonly parts: Parts;', /exposes Parts/],
    ['  private db: Store | undefined;', /exposes Store/],
    ['  async manager(): Promise<ContainerManager> {\n    return x;\n  }', /exposes ContainerManager/],
  ];
  for (const [members, want] of bad)
    assert.match(checkEngineClass(wrap(members), lower).join('\n'), want, members);
  assert.deepEqual(checkEngineClass('export function createEngine() {}', lower), [
    'no `export class Engine` found',
  ]);
});
