// Secret-leak scanning of a freshly built layer: the bytes of each build secret (RUN
// --mount=type=secret values that a step may have copied into the filesystem), well-known
// credential formats, and .env files with values. Files are scanned in fixed 64 KiB blocks with
// an overlap tail, so a match straddling any read boundary is still seen; all patterns are
// linear (no nested quantifiers, every repetition bounded) and run on latin1 text, where one
// byte is one character.
import { isOciWhiteoutName, readTar } from '../archive/index.js';
import { InvalidArgumentError } from '../errors/index.js';

export interface SecretFinding {
  /** Path in the layer, without a leading '/' or './'. */
  path: string;
  kind: 'secret-value' | 'private-key' | 'cloud-key' | 'token' | 'dotenv';
  /** Which secret id or which pattern matched; never the matched bytes. */
  detail: string;
}

export interface ScanLayerOptions {
  secrets: { id: string; value: Buffer }[];
  /** Bytes scanned per file (default 64 MiB); the rest of a bigger file is skipped. */
  maxFileBytes?: number;
}

/**
 * Secret values shorter than this are not searched for: a 1-3 byte value occurs by chance in
 * almost any binary, and such a value is no real secret.
 */
export const MIN_SECRET_BYTES = 4;
const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
const BLOCK_BYTES = 64 * 1024;
/** Longer than any pattern match below (the longest is ~270 bytes), plus one byte of context. */
const PATTERN_TAIL = 1024;
const MAX_DOTENV_NAMES_SHOWN = 5;
/** Distinct .env names remembered per file; beyond that they are only counted. */
const MAX_DOTENV_NAMES_KEPT = 1000;

interface Pattern {
  re: RegExp;
  kind: SecretFinding['kind'];
  /** Built from capture groups that hold only fixed prefixes or labels, never secret bytes. */
  detail: (m: RegExpExecArray) => string;
}

// Tokens must stand alone: no letter or digit (or the token's own alphabet) right before or after.
const PATTERNS: Pattern[] = [
  {
    // The header alone shows up in crypto libraries and docs; a key has its body (or PEM
    // headers) right after. The separator may be a JSON-escaped "\n" (service account files).
    re: /-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----(?:\n|\r\n|\\n|\\r\\n)(?:\n|\r\n|\\n|\\r\\n)?(?:[A-Za-z0-9+/=]{16}|[A-Za-z-]{1,20}: )/g,
    kind: 'private-key',
    detail: (m) => `PEM "${m[1]}" block`,
  },
  {
    re: /(?<![A-Za-z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    kind: 'cloud-key',
    detail: (m) => `AWS access key id (${m[1]}...)`,
  },
  {
    re: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
    kind: 'cloud-key',
    detail: () => 'Google API key (AIza...)',
  },
  {
    re: /(?<![A-Za-z0-9_])(gh[pousr]_)[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])/g,
    kind: 'token',
    detail: (m) => `GitHub token (${m[1]}...)`,
  },
  {
    re: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,244}(?![A-Za-z0-9_])/g,
    kind: 'token',
    detail: () => 'GitHub fine-grained token (github_pat_...)',
  },
  {
    re: /(?<![A-Za-z0-9])(xox[abprs]-)[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])/g,
    kind: 'token',
    detail: (m) => `Slack token (${m[1]}...)`,
  },
  {
    re: /(?<![A-Za-z0-9_-])glpat-[0-9A-Za-z_-]{20,250}(?![0-9A-Za-z_-])/g,
    kind: 'token',
    detail: () => 'GitLab personal access token (glpat-...)',
  },
  {
    re: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/g,
    kind: 'token',
    detail: () => 'npm access token (npm_...)',
  },
  {
    re: /(?<![A-Za-z0-9_])sk_live_[0-9A-Za-z]{24,247}(?![0-9A-Za-z_])/g,
    kind: 'token',
    detail: () => 'Stripe live secret key (sk_live_...)',
  },
];

/**
 * `NAME=value` at the start of a line with a non-empty value (a bare `NAME=`, `NAME=""` or
 * `NAME= # comment` is a template, not a leak). Only the name is captured.
 */
const DOTENV_LINE =
  /(?<=^|\n)[ \t]{0,64}(?:export[ \t]{1,16})?([A-Za-z_][A-Za-z0-9_.]{0,127})[ \t]{0,16}=[ \t]{0,16}(?:[^\s#'"]|'[^'\r\n]|"[^"\r\n])/g;

interface Needle {
  id: string;
  bytes: Buffer;
}

/**
 * Scan an uncompressed layer tar for leaked secrets. Only regular files are read: whiteouts
 * (`.wh.*`), directories, links (a hardlink repeats content already scanned under its first
 * name) and devices are skipped. Findings come in archive order, at most one per (file, kind,
 * detail); `detail` names the secret id or pattern, never the matched bytes.
 */
export async function scanLayerForSecrets(
  tar: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  options: ScanLayerOptions,
): Promise<SecretFinding[]> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1) {
    throw new InvalidArgumentError(`invalid maxFileBytes ${maxFileBytes}`);
  }
  const needles = needlesOf(options.secrets);
  const longest = needles.reduce((n, x) => Math.max(n, x.bytes.length), 0);
  const tail = Math.max(PATTERN_TAIL, longest - 1);
  // With a secret bigger than a block, grow the block so the overlap stays at most half the window.
  const block = Math.max(BLOCK_BYTES, tail);
  const findings: SecretFinding[] = [];
  for await (const entry of readTar(asBuffers(tar))) {
    const h = entry.header;
    if (h.type !== 'file' || h.size === 0) continue;
    const path = layerPath(h.name);
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (isOciWhiteoutName(base)) continue;
    const scanner = new FileScanner(path, needles, isDotenvName(base), tail, block);
    let scanned = 0;
    for await (const chunk of entry.body) {
      const take = Math.min(chunk.length, maxFileBytes - scanned);
      scanner.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      scanned += take;
      // Leaving the loop makes readTar skip the rest of this entry.
      if (scanned >= maxFileBytes) break;
    }
    findings.push(...scanner.finish());
  }
  return findings;
}

async function* asBuffers(src: NodeJS.ReadableStream | AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of src as AsyncIterable<Buffer | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
  }
}

function needlesOf(secrets: ScanLayerOptions['secrets']): Needle[] {
  const out: Needle[] = [];
  for (const { id, value } of secrets) {
    // Files often hold the value without the trailing newline `echo` or an editor added.
    const trimmed = trimAsciiSpace(value);
    for (const bytes of trimmed.equals(value) ? [value] : [value, trimmed]) {
      if (bytes.length >= MIN_SECRET_BYTES) out.push({ id, bytes });
    }
  }
  return out;
}

function trimAsciiSpace(b: Buffer): Buffer {
  const space = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  let s = 0;
  let e = b.length;
  while (s < e && space(b[s]!)) s++;
  while (e > s && space(b[e - 1]!)) e--;
  return b.subarray(s, e);
}

function layerPath(name: string): string {
  let p = name;
  for (;;) {
    if (p.startsWith('./')) p = p.slice(2);
    else if (p.startsWith('/')) p = p.slice(1);
    else break;
  }
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

function isDotenvName(base: string): boolean {
  return base.endsWith('.env');
}

/**
 * Scans one file's bytes as they arrive. Blocks start at fixed offsets (k × block) whatever the
 * chunking of the input, and each window is the previous window's last `tail` bytes plus the
 * new block. Every match shorter than the tail is therefore whole in some window. Two rules keep
 * the cut edges honest: a window that starts with carried bytes is searched from its second
 * byte (the first one's left neighbour is not in the window; any match starting there was
 * whole in the previous window), and a match reaching the end of a window that is not the
 * file's last is ignored (its right neighbour is unknown; the next window sees it whole).
 */
class FileScanner {
  private readonly window: Buffer;
  private carry = 0;
  private fill = 0;
  private readonly seen = new Set<string>();
  private readonly findings: SecretFinding[] = [];
  private readonly envNames = new Set<string>();

  constructor(
    private readonly path: string,
    private readonly needles: Needle[],
    private readonly dotenv: boolean,
    private readonly tail: number,
    private readonly block: number,
  ) {
    this.window = Buffer.allocUnsafe(tail + block);
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      // A full window is scanned only once more data proves it is not the file's last.
      if (this.fill === this.carry + this.block) {
        this.scan(this.window.subarray(0, this.fill), false);
        const keep = Math.min(this.tail, this.fill);
        this.window.copy(this.window, 0, this.fill - keep, this.fill);
        this.carry = keep;
        this.fill = keep;
      }
      const n = Math.min(chunk.length - off, this.carry + this.block - this.fill);
      chunk.copy(this.window, this.fill, off, off + n);
      this.fill += n;
      off += n;
    }
  }

  finish(): SecretFinding[] {
    if (this.fill > this.carry) this.scan(this.window.subarray(0, this.fill), true);
    if (this.envNames.size > 0) {
      const names = [...this.envNames];
      const shown = names.slice(0, MAX_DOTENV_NAMES_SHOWN).join(', ');
      const rest = names.length - MAX_DOTENV_NAMES_SHOWN;
      const more = rest > 0 ? ` and ${rest}${names.length === MAX_DOTENV_NAMES_KEPT ? '+' : ''} more` : '';
      this.findings.push({ path: this.path, kind: 'dotenv', detail: `.env file assigns ${shown}${more}` });
    }
    return this.findings;
  }

  private report(kind: SecretFinding['kind'], detail: string): void {
    const key = `${kind}\0${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push({ path: this.path, kind, detail });
  }

  private scan(win: Buffer, last: boolean): void {
    for (const n of this.needles) {
      if (win.indexOf(n.bytes) !== -1) {
        this.report('secret-value', `contains the value of build secret ${JSON.stringify(n.id)}`);
      }
    }
    const text = win.toString('latin1');
    const from = this.carry > 0 ? 1 : 0;
    for (const p of PATTERNS) {
      for (const m of matchesIn(p.re, text, from, last)) this.report(p.kind, p.detail(m));
    }
    if (this.dotenv) {
      for (const m of matchesIn(DOTENV_LINE, text, from, last)) {
        if (this.envNames.size < MAX_DOTENV_NAMES_KEPT) this.envNames.add(m[1]!);
      }
    }
  }
}

function* matchesIn(re: RegExp, text: string, from: number, last: boolean): Generator<RegExpExecArray> {
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (!last && m.index + m[0].length === text.length) continue;
    yield m;
  }
}
