// The mapping from berth's pull progress events to dockerd's JSON message lines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProgressEvent } from '../engine/index.js';
import { errorLine, pullProgressLines, pullReference } from './_routes-images.js';

function map(events: ProgressEvent[]) {
  const completed = new Set<string>();
  return events.flatMap((e) => pullProgressLines(e, completed));
}

describe('pull progress as dockerd JSON lines', () => {
  test('a layer: fs layer, downloading with progressDetail, download complete, pull complete', () => {
    const id = 'a3ed95caeb02';
    const lines = map([
      { type: 'resolve', ref: 'x' },
      { type: 'resolved', ref: 'x', digest: 'sha256:00' },
      { type: 'layer', id, status: 'waiting' },
      { type: 'layer', id, status: 'downloading', current: 0, total: 100 },
      { type: 'layer', id, status: 'downloading', current: 100, total: 100 },
      { type: 'layer', id, status: 'extracting', current: 100, total: 100 },
      { type: 'layer', id, status: 'extracting', current: 100, total: 100 },
      { type: 'layer', id, status: 'done' },
    ]);
    assert.deepEqual(lines, [
      { status: 'Pulling fs layer', progressDetail: {}, id },
      { status: 'Downloading', progressDetail: { current: 0, total: 100 }, id },
      { status: 'Downloading', progressDetail: { current: 100, total: 100 }, id },
      { status: 'Download complete', progressDetail: {}, id },
      { status: 'Extracting', progressDetail: { current: 100, total: 100 }, id },
      { status: 'Extracting', progressDetail: { current: 100, total: 100 }, id },
      { status: 'Pull complete', progressDetail: {}, id },
    ]);
  });

  test('a layer already present, a verified one with no extract events, and a warning', () => {
    const lines = map([
      { type: 'layer', id: 'aaaaaaaaaaaa', status: 'exists' },
      { type: 'layer', id: 'bbbbbbbbbbbb', status: 'verifying' },
      { type: 'layer', id: 'bbbbbbbbbbbb', status: 'done' },
      { type: 'message', text: 'WARNING: platform mismatch' },
    ]);
    assert.deepEqual(lines, [
      { status: 'Already exists', progressDetail: {}, id: 'aaaaaaaaaaaa' },
      { status: 'Verifying Checksum', progressDetail: {}, id: 'bbbbbbbbbbbb' },
      { status: 'Download complete', progressDetail: {}, id: 'bbbbbbbbbbbb' },
      { status: 'Pull complete', progressDetail: {}, id: 'bbbbbbbbbbbb' },
      { status: 'WARNING: platform mismatch' },
    ]);
  });

  test('errors after the stream began have the shape the docker CLI prints', () => {
    assert.deepEqual(errorLine('boom'), { errorDetail: { message: 'boom' }, error: 'boom' });
  });

  test('fromImage and tag make one reference; a digest tag makes name@digest', () => {
    assert.equal(pullReference('127.0.0.1:5000/bb', 'latest'), '127.0.0.1:5000/bb:latest');
    assert.equal(pullReference('bb', null), 'bb');
    const d = `sha256:${'a'.repeat(64)}`;
    assert.equal(pullReference('bb', d), `bb@${d}`);
  });
});
