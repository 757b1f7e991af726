import { InvalidArgumentError } from '../errors/index.js';
import type { ContainerConfig } from '../oci/index.js';

const ALLOWED = [
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'LABEL',
  'ONBUILD',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
];

/** JSON array form `["a","b"]`, or undefined when the text is not one. */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // shell form
  }
  return undefined;
}

/** Split `k=v k2="v 2"` pairs (LABEL and ENV's `=` form) honouring double quotes and backslashes. */
function keyValuePairs(text: string, what: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) break;
    let word = '';
    let quote: string | undefined;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
        else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
        else word += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '\\' && i + 1 < text.length) word += text[++i];
      else if (c === ' ' || c === '\t') break;
      else word += c;
    }
    if (quote) throw new InvalidArgumentError(`${what}: unterminated quote`);
    const eq = word.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`${what}: expected KEY=VALUE, got "${word}"`);
    out.push([word.slice(0, eq), word.slice(eq + 1)]);
  }
  return out;
}

/**
 * Apply `--change` instructions (Dockerfile syntax, one instruction each) to a container config,
 * as `docker import --change` does.
 */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const out: ContainerConfig = { ...config };
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*?)\s*$/.exec(change);
    if (!m) throw new InvalidArgumentError(`invalid --change "${change}": expected INSTRUCTION ARGS`);
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!;
    const what = `invalid --change "${change}"`;
    if (!ALLOWED.includes(instr)) {
      throw new InvalidArgumentError(`${what}: ${instr} is not one of ${ALLOWED.join(', ')}`);
    }
    switch (instr) {
      case 'CMD':
        out.Cmd = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        break;
      case 'ENV': {
        const pairs =
          rest.includes('=') && !/^[^=\s]+\s/.test(rest) ? keyValuePairs(rest, what) : legacyPair(rest, what);
        const env = [...(out.Env ?? [])];
        for (const [k, v] of pairs) {
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        out.Env = env;
        break;
      }
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(keyValuePairs(rest, what)) };
        break;
      case 'EXPOSE': {
        const ports = { ...(out.ExposedPorts ?? {}) };
        for (const p of rest.split(/\s+/)) {
          if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/i.test(p))
            throw new InvalidArgumentError(`${what}: bad port "${p}"`);
          ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        out.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...(out.Volumes ?? {}) };
        for (const v of jsonArray(rest) ?? rest.split(/\s+/)) vols[v] = {};
        out.Volumes = vols;
        break;
      }
      case 'USER':
        out.User = rest;
        break;
      case 'WORKDIR':
        out.WorkingDir = rest.startsWith('/')
          ? rest
          : `${out.WorkingDir ?? '/'}/${rest}`.replace(/\/+/g, '/');
        break;
      case 'STOPSIGNAL':
        out.StopSignal = rest;
        break;
      case 'ONBUILD':
        out.OnBuild = [...(out.OnBuild ?? []), rest];
        break;
    }
  }
  return out;
}

function legacyPair(rest: string, what: string): [string, string][] {
  const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
  if (!m) throw new InvalidArgumentError(`${what}: ENV needs a value`);
  return [[m[1]!, m[2]!]];
}
