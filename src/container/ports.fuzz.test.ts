// Property-based tests of the -p and --expose parsers: the text comes from a user or an API body,
// so any string must end in mappings that are valid, or in a typed berth error.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { fuzz, onlyBerthErrors, stringFrom } from '../../test/helpers/fuzz.js';
import type { PortMapping } from '../network/index.js';
import { MAX_PORTS_PER_SPEC, parseExposeFlag, parsePublishFlag } from './_ports.js';

const TOKENS = [
  ':',
  '::',
  '[',
  ']',
  '-',
  '/',
  '.',
  ' ',
  '0',
  '1',
  '80',
  '8080',
  '65535',
  '65536',
  '99999999999999999999',
  '127.0.0.1',
  '::1',
  'fe80::1%lo',
  'tcp',
  'udp',
  'sctp',
  'TCP',
  'icmp',
  'x',
  '\u00e9',
];

function checkMapping(m: PortMapping): void {
  for (const p of [m.containerPort, m.hostPort])
    assert.ok(Number.isInteger(p) && p >= 0 && p <= 65535, `${p}`);
  assert.ok(m.containerPort >= 1);
  assert.ok(['tcp', 'udp', 'sctp'].includes(m.protocol));
  assert.ok(m.hostIp === '' || isIP(m.hostIp) !== 0, m.hostIp);
  if (m.hostRange) {
    assert.equal(m.hostPort, 0);
    assert.ok(m.hostRange.start >= 1 && m.hostRange.start <= m.hostRange.end && m.hostRange.end <= 65535);
  }
}

test('parsePublishFlag / parseExposeFlag: valid mappings or a berth error, for any text', (t) => {
  fuzz(
    t,
    fc.property(stringFrom(TOKENS, 12), (spec) => {
      const mappings = onlyBerthErrors('parsePublishFlag', () => parsePublishFlag(spec));
      if (mappings) {
        assert.ok(mappings.length >= 1 && mappings.length <= MAX_PORTS_PER_SPEC);
        for (const m of mappings) checkMapping(m);
      }
      const exposed = onlyBerthErrors('parseExposeFlag', () => parseExposeFlag(spec));
      for (const key of exposed ?? []) assert.match(key, /^\d{1,5}\/(tcp|udp|sctp)$/);
    }),
  );
});

test('parsePublishFlag: a spec built from valid parts parses back to those parts', (t) => {
  const port = fc.integer({ min: 1, max: 65535 });
  fuzz(
    t,
    fc.property(
      fc.constantFrom('', '127.0.0.1', '0.0.0.0', '::1', '10.1.2.3'),
      fc.option(port, { nil: undefined }),
      port,
      fc.integer({ min: 0, max: 20 }),
      fc.constantFrom(undefined, 'tcp', 'udp', 'sctp'),
      (ip, hostStart, containerStart, extra, proto) => {
        const span = Math.min(
          extra,
          65535 - containerStart,
          hostStart === undefined ? 20 : 65535 - hostStart,
        );
        const range = (s: number) => (span === 0 ? `${s}` : `${s}-${s + span}`);
        const host = hostStart === undefined ? '' : range(hostStart);
        const address =
          ip === '' ? (host === '' ? '' : `${host}:`) : `${ip.includes(':') ? `[${ip}]` : ip}:${host}:`;
        const spec = `${address}${range(containerStart)}${proto ? `/${proto}` : ''}`;
        const mappings = parsePublishFlag(spec);
        assert.equal(mappings.length, span + 1, spec);
        mappings.forEach((m, i) => {
          assert.deepEqual(m, {
            hostIp: ip,
            hostPort: hostStart === undefined ? 0 : hostStart + i,
            containerPort: containerStart + i,
            protocol: proto ?? 'tcp',
          });
        });
      },
    ),
  );
});
