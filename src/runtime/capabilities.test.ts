import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError } from '../errors/index.js';
import {
  ALL_CAPABILITIES,
  capabilitiesFromMask,
  capabilityMask,
  DEFAULT_CAPABILITIES,
  hostBoundingCapabilities,
  normalizeCapability,
} from './capabilities.js';

test("Docker's 14 default capabilities have the CapEff mask a80425fb", () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.equal(capabilityMask(DEFAULT_CAPABILITIES), 0xa80425fbn);
  assert.equal(capabilityMask(DEFAULT_CAPABILITIES).toString(16).padStart(16, '0'), '00000000a80425fb');
  assert.deepEqual(capabilitiesFromMask(0xa80425fbn).sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.equal(capabilityMask(ALL_CAPABILITIES), (1n << 41n) - 1n);
  assert.equal(capabilityMask([]), 0n);
});

test('names normalize with or without CAP_, in any case', () => {
  assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('CAP_SYS_ADMIN'), 'CAP_SYS_ADMIN');
  assert.equal(normalizeCapability(' Chown '), 'CAP_CHOWN');
  assert.equal(normalizeCapability('all'), 'ALL');
  assert.throws(() => normalizeCapability('CAP_FLY'), InvalidArgumentError);
  assert.throws(() => normalizeCapability(''), InvalidArgumentError);
  assert.throws(() => capabilityMask(['ALL']), InvalidArgumentError);
});

test('the bounding set is read from /proc/<pid>/status', () => {
  const fixture = join(tmpdir(), `berth-status-${process.pid}`);
  writeFileSync(fixture, 'Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n');
  const caps = hostBoundingCapabilities(fixture);
  rmSync(fixture);
  assert.equal(caps.length, 40);
  assert.ok(!caps.includes('CAP_SYS_RESOURCE'));
  const own = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
  assert.equal(capabilityMask(hostBoundingCapabilities()), BigInt(`0x${own}`) & ((1n << 41n) - 1n));
});
