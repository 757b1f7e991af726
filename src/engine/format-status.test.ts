// The STATUS text and the Ports list both front ends show for a container (engine/_format.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerStatusText, humanDuration, portList } from './_format.js';

const now = Date.parse('2026-01-01T00:10:00Z');
const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();

test('STATUS reads as docker’s: Up, Paused, Exited (code) … ago, Created', () => {
  const base = { StartedAt: at(5), FinishedAt: null, ExitCode: null };
  assert.equal(containerStatusText({ ...base, State: 'running' }, now), 'Up 5 seconds');
  assert.equal(containerStatusText({ ...base, State: 'paused' }, now), 'Up 5 seconds (Paused)');
  assert.equal(
    containerStatusText({ State: 'exited', StartedAt: at(100), FinishedAt: at(3), ExitCode: 2 }, now),
    'Exited (2) 3 seconds ago',
  );
  assert.equal(containerStatusText({ ...base, State: 'exited' }, now), 'Exited (0) N/A');
  assert.equal(containerStatusText({ ...base, State: 'created' }, now), 'Created');
  assert.equal(containerStatusText({ ...base, State: 'removing' }, now), 'Removing');
});

test('durations round as docker’s', () => {
  assert.equal(humanDuration(at(0), now), 'Less than a second');
  assert.equal(humanDuration(at(1), now), '1 second');
  assert.equal(humanDuration(at(59), now), '59 seconds');
  assert.equal(humanDuration(at(60), now), 'About a minute');
  assert.equal(humanDuration(at(3600), now), 'About an hour');
  assert.equal(humanDuration(at(3 * 86400), now), '3 days');
  assert.equal(humanDuration(null, now), 'N/A');
});

test('Ports: published bindings with IP and PublicPort, exposed ports without', () => {
  assert.deepEqual(
    portList({
      '80/tcp': [
        { HostIp: '127.0.0.1', HostPort: '8080' },
        { HostIp: '', HostPort: '8081' },
      ],
      '53/udp': null,
    }),
    [
      { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8081, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
    ],
  );
});
