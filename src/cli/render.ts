// Terminal output: tables, JSON, docker-style `--format` templates, sizes and ages, and the
// progress renderer for pulls (a bar per layer on a TTY, plain lines otherwise).
import { humanDuration } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';

export function humanSize(bytes: number): string {
  // docker uses decimal units with 3 significant digits
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const s = v >= 100 || u === 0 ? Math.round(v).toString() : v.toPrecision(3).replace(/\.?0+$/, '');
  return `${s}${units[u]}`;
}

/** "5 seconds ago", as docker's CREATED column (the engine's wording, shared with the API). */
export function humanAge(iso: string | undefined, now = Date.now()): string {
  const d = humanDuration(iso, now);
  return d === 'N/A' ? d : `${d} ago`;
}

/** Left-aligned columns separated by three spaces, like docker's tabwriter output. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function lookup(value: unknown, path: string): unknown {
  if (path === '' || path === '.') return value;
  let cur: unknown = value;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'object') {
    if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
    return `map[${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}:${show(x)}`)
      .join(' ')}]`;
  }
  return String(v);
}

/**
 * A subset of Go templates as docker's `--format` uses them: `{{.Field}}`, `{{.A.B}}`,
 * `{{json .}}`, `{{json .Field}}`, `{{upper .X}}`/`{{lower .X}}`, with `\t` and `\n` escapes.
 */
export function renderTemplate(template: string, value: unknown): string {
  const t = template.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return t.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    const parts = expr.split(/\s+/);
    if (parts.length === 1 && parts[0]!.startsWith('.')) return show(lookup(value, parts[0]!));
    if (parts.length === 2) {
      const [fn, arg] = parts as [string, string];
      const v = lookup(value, arg);
      if (fn === 'json') return JSON.stringify(v ?? null);
      if (fn === 'upper') return show(v).toUpperCase();
      if (fn === 'lower') return show(v).toLowerCase();
      if (fn === 'len') return String(Array.isArray(v) ? v.length : typeof v === 'string' ? v.length : 0);
    }
    throw new InvalidArgumentError(`template: unsupported expression "{{${expr}}}"`);
  });
}

/**
 * Print a list as docker does for `--format`: 'json' → one JSON object per line,
 * 'table ...' → header + rows, any other template → one rendered line per item.
 */
export function formatList<T>(
  items: T[],
  format: string | undefined,
  defaults: { header: string[]; row: (item: T) => string[] },
): string {
  if (format === undefined || format === '' || format === 'table') {
    return table(defaults.header, items.map(defaults.row));
  }
  if (format === 'json') return items.map((i) => `${JSON.stringify(i)}\n`).join('');
  if (format.startsWith('table ')) {
    const tpl = format.slice('table '.length);
    const header = tpl.replace(/\{\{\s*\.?(\w+)[^}]*\}\}/g, (_m, f: string) =>
      f.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase(),
    );
    return `${[header.replace(/\\t/g, '\t'), ...items.map((i) => renderTemplate(tpl, i))].join('\n')}\n`;
  }
  return items.map((i) => `${renderTemplate(format, i)}\n`).join('');
}
