import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type TarEntryInput, type TarEntryType, writeTar } from '../archive/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { MIN_SECRET_BYTES, type SecretFinding, scanLayerForSecrets } from './_secrets.js';

// Credential-shaped strings are assembled at run time, so this file itself holds none.

interface FileSpec {
  name: string;
  data?: Buffer | string;
  type?: TarEntryType;
  linkname?: string;
}

function layer(files: FileSpec[]): TarEntryInput[] {
  return files.map((f) => {
    const type = f.type ?? 'file';
    const body =
      f.data === undefined ? undefined : Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data, 'latin1');
    const header = {
      name: f.name,
      type,
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: type === 'file' ? (body?.length ?? 0) : 0,
      mtime: 0,
      ...(f.linkname !== undefined ? { linkname: f.linkname } : {}),
    };
    return type === 'file' && body !== undefined && body.length > 0 ? { header, body } : { header };
  });
}

async function tarBytes(files: FileSpec[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of writeTar(layer(files))) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The tar re-cut into chunks of the given sizes (cycled), to move read boundaries around. */
async function* rechunk(tar: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < tar.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield tar.subarray(off, off + n);
    off += n;
  }
}

async function scan(
  files: FileSpec[],
  secrets: { id: string; value: Buffer }[] = [],
  extra: { maxFileBytes?: number; chunks?: number[] } = {},
): Promise<SecretFinding[]> {
  const tar = await tarBytes(files);
  const src = extra.chunks ? rechunk(tar, extra.chunks) : writeTar(layer(files));
  return scanLayerForSecrets(src, {
    secrets,
    ...(extra.maxFileBytes !== undefined ? { maxFileBytes: extra.maxFileBytes } : {}),
  });
}

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed = 0x9e3779b9): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function alnum(n: number, seed = 7, alphabet = ALNUM): string {
  const r = noise(n, seed);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[r[i]! % alphabet.length];
  return s;
}

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const awsKey = (): string => ['AK', 'IA'].join('') + alnum(16, 11, UPPER_DIGITS);
const pemKey = (type: string, sep = '\n'): string =>
  [`-----BEGIN ${type}-----`, alnum(64, 3), alnum(64, 4), `-----END ${type}-----`, ''].join(sep);

const secret = (id: string, value: string): { id: string; value: Buffer } => ({
  id,
  value: Buffer.from(value),
});

test('a clean layer has no findings', async () => {
  const findings = await scan(
    [
      { name: 'etc/', type: 'dir' },
      { name: 'etc/hostname', data: 'builder\n' },
      { name: 'usr/bin/tool', data: noise(4096) },
      { name: 'app/config.json', data: '{"port": 8080, "debug": false}\n' },
      { name: 'app/.env.example', data: 'API_KEY=\n' },
      { name: 'empty', data: '' },
    ],
    [secret('npmrc', '//registry.npmjs.org/:_authToken=abcdef0123456789\n')],
  );
  assert.deepEqual(findings, []);
});

test('finds a secret value by exact bytes, also without its trailing newline, naming only the id', async () => {
  const value = 'correct-horse-battery-staple\n';
  const findings = await scan(
    [
      { name: './root/.netrc', data: `machine x password ${value}` },
      { name: '/app/token.txt', data: value.trim() },
      { name: 'app/twice.txt', data: `${value.trim()} and again ${value.trim()}` },
    ],
    [secret('db_password', value)],
  );
  assert.deepEqual(findings, [
    { path: 'root/.netrc', kind: 'secret-value', detail: 'contains the value of build secret "db_password"' },
    {
      path: 'app/token.txt',
      kind: 'secret-value',
      detail: 'contains the value of build secret "db_password"',
    },
    {
      path: 'app/twice.txt',
      kind: 'secret-value',
      detail: 'contains the value of build secret "db_password"',
    },
  ]);
  for (const f of findings) assert.ok(!f.detail.includes('horse'));
});

test('finds a secret straddling the 64 KiB scan block boundaries, however the input is chunked', async () => {
  const value = 'straddling-secret-0123456789';
  const at = (offset: number, size: number): Buffer => {
    const b = Buffer.alloc(size, 0x2e);
    b.write(value, offset, 'latin1');
    return b;
  };
  const files: FileSpec[] = [
    { name: 'first', data: at(65536 - 5, 70000) },
    { name: 'second', data: at(2 * 65536 - 13, 3 * 65536) },
    { name: 'third', data: at(65536 - value.length, 65536 + 10) },
  ];
  const want = ['first', 'second', 'third'];
  for (const chunks of [undefined, [1000], [1, 7, 65536, 3], [512]]) {
    const findings = await scan(files, [secret('s', value)], chunks ? { chunks } : {});
    assert.deepEqual(
      findings.map((f) => f.path),
      want,
      `chunks ${JSON.stringify(chunks)}`,
    );
  }
});

test('secret values shorter than MIN_SECRET_BYTES are not searched for', async () => {
  assert.equal(MIN_SECRET_BYTES, 4);
  const findings = await scan(
    [
      { name: 'bin', data: noise(8192) },
      { name: 'txt', data: 'abc xyz' },
    ],
    [secret('short', 'abc'), secret('short-with-newline', 'xyz\n')],
  );
  assert.deepEqual(findings, []);
});

test('several secrets in one file are each reported once', async () => {
  const findings = await scan(
    [{ name: 'f', data: 'alpha-secret beta-secret alpha-secret' }],
    [secret('a', 'alpha-secret'), secret('b', 'beta-secret'), secret('c', 'gamma-secret')],
  );
  assert.deepEqual(
    findings.map((f) => f.detail),
    ['contains the value of build secret "a"', 'contains the value of build secret "b"'],
  );
});

test('finds PEM private keys of each flavour, also JSON-escaped; a bare header is not a key', async () => {
  const types = [
    'RSA PRIVATE KEY',
    'PRIVATE KEY',
    'OPENSSH PRIVATE KEY',
    'EC PRIVATE KEY',
    'DSA PRIVATE KEY',
    'ENCRYPTED PRIVATE KEY',
    'PGP PRIVATE KEY BLOCK',
  ];
  const files: FileSpec[] = types.map((t, i) => ({ name: `keys/${i}.pem`, data: pemKey(t) }));
  files.push({
    name: 'legacy-encrypted.pem',
    data: `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n${alnum(64)}\n`,
  });
  files.push({ name: 'pgp-blank-line.asc', data: `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${alnum(64)}\n` });
  files.push({
    name: 'sa.json',
    data: JSON.stringify({ type: 'service_account', private_key: pemKey('PRIVATE KEY') }),
  });
  files.push({ name: 'docs.md', data: 'Paste your key after "-----BEGIN PRIVATE KEY-----" and...\n' });
  files.push({ name: 'cert.pem', data: pemKey('CERTIFICATE') });
  files.push({ name: 'pub.pem', data: pemKey('PUBLIC KEY') });
  const findings = await scan(files);
  assert.deepEqual(
    findings.map((f) => [f.path, f.kind, f.detail]),
    [
      ...types.map((t, i) => [`keys/${i}.pem`, 'private-key', `PEM "${t}" block`]),
      ['legacy-encrypted.pem', 'private-key', 'PEM "RSA PRIVATE KEY" block'],
      ['pgp-blank-line.asc', 'private-key', 'PEM "PGP PRIVATE KEY BLOCK" block'],
      ['sa.json', 'private-key', 'PEM "PRIVATE KEY" block'],
    ],
  );
});

test('finds AWS access key ids only when they stand alone', async () => {
  const key = awsKey();
  const temp = ['AS', 'IA'].join('') + alnum(16, 12, UPPER_DIGITS);
  const findings = await scan([
    { name: 'root/.aws/credentials', data: `[default]\naws_access_key_id = ${key}\n` },
    { name: 'sts.json', data: `{"AccessKeyId":"${temp}"}` },
    { name: 'glued-left', data: `X${key} ` },
    { name: 'glued-right', data: ` ${key}9` },
    { name: 'too-short', data: ` ${key.slice(0, 19)} ` },
    { name: 'lowercase', data: ` ${key.slice(0, 4)}${key.slice(4).toLowerCase()} ` },
  ]);
  assert.deepEqual(
    findings.map((f) => [f.path, f.kind, f.detail]),
    [
      ['root/.aws/credentials', 'cloud-key', 'AWS access key id (AKIA...)'],
      ['sts.json', 'cloud-key', 'AWS access key id (ASIA...)'],
    ],
  );
  for (const f of findings) assert.ok(!f.detail.includes(key.slice(4)));
});

test('finds GitHub, Slack, Google, GitLab, npm and Stripe tokens without echoing them', async () => {
  const tokens: [string, string, SecretFinding['kind'], string][] = [
    ['gh.txt', `${'gh'}p_${alnum(36, 1)}`, 'token', 'GitHub token (ghp_...)'],
    ['gho.txt', `${'gh'}o_${alnum(36, 2)}`, 'token', 'GitHub token (gho_...)'],
    ['ghs.txt', `${'gh'}s_${alnum(36, 3)}`, 'token', 'GitHub token (ghs_...)'],
    ['ghu.txt', `${'gh'}u_${alnum(36, 4)}`, 'token', 'GitHub token (ghu_...)'],
    [
      'pat.txt',
      `${'github'}_pat_${alnum(22, 5)}_${alnum(59, 6)}`,
      'token',
      'GitHub fine-grained token (github_pat_...)',
    ],
    [
      'slack.txt',
      `${'xo'}xb-${alnum(12, 7)}-${alnum(12, 8)}-${alnum(24, 9)}`,
      'token',
      'Slack token (xoxb-...)',
    ],
    ['google.txt', `${'AI'}za${alnum(35, 10)}`, 'cloud-key', 'Google API key (AIza...)'],
    ['gitlab.txt', `${'gl'}pat-${alnum(20, 11)}`, 'token', 'GitLab personal access token (glpat-...)'],
    [
      'npmrc',
      `//registry.npmjs.org/:_authToken=${'np'}m_${alnum(36, 12)}`,
      'token',
      'npm access token (npm_...)',
    ],
    ['stripe.txt', `${'sk'}_live_${alnum(24, 13)}`, 'token', 'Stripe live secret key (sk_live_...)'],
  ];
  const findings = await scan(tokens.map(([name, tok]) => ({ name, data: `token: "${tok}"\n` })));
  assert.deepEqual(
    findings.map((f) => [f.path, f.kind, f.detail]),
    tokens.map(([name, , kind, detail]) => [name, kind, detail]),
  );
  for (const [i, f] of findings.entries()) assert.ok(!f.detail.includes(tokens[i]![1].slice(8)));
});

test('token look-alikes inside longer words are not tokens', async () => {
  const findings = await scan([
    { name: 'a', data: `my${'gh'}p_${alnum(36)} ` },
    { name: 'b', data: ` ${'gh'}p_${alnum(35)} ` },
    { name: 'c', data: ` ${'np'}m_${alnum(37)} ` },
    { name: 'd', data: ` ${'gh'}p_${alnum(300)} ` },
    { name: 'e', data: ` sk_test_${alnum(30)} ` },
  ]);
  assert.deepEqual(findings, []);
});

test('.env files with a NAME=value line are reported by variable name', async () => {
  const findings = await scan([
    { name: 'app/.env', data: '# settings\nDEBUG=\nDB_PASSWORD=hunter2\nexport API_KEY = "abc"\nEMPTY=""\n' },
    { name: 'app/prod.env', data: 'TOKEN=x\r\n' },
    { name: 'app/template/.env', data: '# NAME=value\nA=\nB=""\nC= # comment\n' },
    { name: 'app/settings.txt', data: 'PASSWORD=hunter2\n' },
    { name: 'app/.envrc', data: 'export X=1\n' },
    { name: 'many/.env', data: Array.from({ length: 8 }, (_, i) => `V${i}=${i}`).join('\n') },
  ]);
  assert.deepEqual(
    findings.map((f) => [f.path, f.kind, f.detail]),
    [
      ['app/.env', 'dotenv', '.env file assigns DB_PASSWORD, API_KEY'],
      ['app/prod.env', 'dotenv', '.env file assigns TOKEN'],
      ['many/.env', 'dotenv', '.env file assigns V0, V1, V2, V3, V4 and 3 more'],
    ],
  );
  assert.ok(!findings.some((f) => f.detail.includes('hunter2')));
});

test('whiteouts, links, directories and devices are skipped', async () => {
  const value = 'the-secret-value';
  const findings = await scan(
    [
      { name: 'etc/.wh.secret', data: value },
      { name: 'etc/.wh..wh..opq', data: '' },
      { name: 'etc/link', type: 'symlink', linkname: value },
      { name: 'etc/hard', type: 'hardlink', linkname: 'etc/.wh.secret' },
      { name: `dir-${value}/`, type: 'dir' },
      { name: 'fifo', type: 'fifo' },
    ],
    [secret('s', value)],
  );
  assert.deepEqual(findings, []);
});

test('a binary file with random bytes and near misses gives no false positive', async () => {
  const bin = noise(512 * 1024, 12345);
  // Near misses glued to letters or digits, as they occur inside machine code and tables.
  const nearMisses = [
    `Q${awsKey()}`,
    `${awsKey()}7`,
    `x${'gh'}p_${alnum(36)}`,
    `-----BEGIN RSA PRIVATE KEY-----\x00\x01`,
  ];
  let off = 1000;
  for (const s of nearMisses) {
    bin.write(s, off, 'latin1');
    off += 100_000;
  }
  const findings = await scan(
    [{ name: 'usr/lib/libbig.so', data: bin }],
    [secret('s', 'not-in-there-anywhere')],
  );
  assert.deepEqual(findings, []);
});

test('pattern matches straddling a block boundary are found once; glued ones are not', async () => {
  const key = awsKey();
  const place = (parts: [number, string][], size: number): Buffer => {
    const b = Buffer.alloc(size, 0x20);
    for (const [o, s] of parts) b.write(s, o, 'latin1');
    return b;
  };
  const findings = await scan([
    { name: 'straddle', data: place([[65536 - 7, key]], 70000) },
    // Left neighbour is the last byte of the previous block.
    { name: 'glued-left', data: place([[65535, `X${key}`]], 70000) },
    // The key ends exactly at the block end; its right neighbour starts the next block.
    { name: 'glued-right', data: place([[65536 - key.length, `${key}Z`]], 70000) },
    { name: 'ends-at-eof', data: place([[65536 - key.length, key]], 65536) },
    { name: 'dotenv.env', data: place([[65536 - 6, '\nPASS=x']], 70000) },
  ]);
  assert.deepEqual(
    findings.map((f) => [f.path, f.kind]),
    [
      ['straddle', 'cloud-key'],
      ['ends-at-eof', 'cloud-key'],
      ['dotenv.env', 'dotenv'],
    ],
  );
});

test('maxFileBytes bounds the bytes scanned per file; later entries are still scanned', async () => {
  const value = 'late-secret-value';
  const big = Buffer.alloc(300_000, 0x61);
  big.write(value, 250_000, 'latin1');
  const findings = await scan(
    [
      { name: 'big', data: big },
      { name: 'small', data: value },
    ],
    [secret('s', value)],
    { maxFileBytes: 200_000 },
  );
  assert.deepEqual(
    findings.map((f) => f.path),
    ['small'],
  );
  await assert.rejects(
    scanLayerForSecrets(writeTar([]), { secrets: [], maxFileBytes: 0 }),
    InvalidArgumentError,
  );
});

test('accepts a Node readable stream or any async iterable of Buffers', async () => {
  const files = [{ name: 'k', data: pemKey('EC PRIVATE KEY') }];
  const fromStream = await scanLayerForSecrets(writeTar(layer(files)), { secrets: [] });
  const fromIterable = await scanLayerForSecrets(rechunk(await tarBytes(files), [100]), { secrets: [] });
  assert.equal(fromStream.length, 1);
  assert.deepEqual(fromIterable, fromStream);
});

test('a secret bigger than a scan block is still found across blocks', async () => {
  const value = alnum(150_000, 99);
  const data = Buffer.concat([Buffer.alloc(70_000, 0x20), Buffer.from(value), Buffer.alloc(10, 0x20)]);
  const findings = await scan([{ name: 'huge', data }], [secret('big', value)], { chunks: [4096] });
  assert.deepEqual(
    findings.map((f) => f.kind),
    ['secret-value'],
  );
});

test('pathological inputs finish (patterns are linear)', async () => {
  const data = [
    `${'gh'}p_${'a'.repeat(200_000)}`,
    `-----BEGIN ${'A '.repeat(50_000)}`,
    `${'AK'}IA`.repeat(50_000),
    '\nA='.repeat(50_000),
  ].join('\n');
  const findings = await scan([{ name: 'x.env', data }]);
  assert.deepEqual(
    findings.map((f) => f.kind),
    [],
  );
});
