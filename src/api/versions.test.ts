import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerInspect } from '../engine/index.js';
import {
  containerInspectShape,
  createBodyForVersion,
  imageInspectShape,
  imageListShape,
  withVirtualSize,
} from './_versions.js';

const ID = 'abcdef0123456789'.repeat(4);

test('VirtualSize (= Size) in image lists, image inspect and df images before 1.44 only', () => {
  const entry = { Id: 'sha256:x', Size: 42, RepoTags: ['a:1'], RepoDigests: [] };
  for (const v of ['1.41', '1.42', '1.43']) {
    assert.equal(imageListShape(entry, v).VirtualSize, 42, v);
    assert.equal(imageInspectShape(entry, v).VirtualSize, 42, v);
    assert.equal(withVirtualSize(entry, v).VirtualSize, 42, v);
  }
  for (const v of ['1.44', '1.45']) {
    assert.equal('VirtualSize' in imageListShape(entry, v), false, v);
    assert.equal('VirtualSize' in imageInspectShape(entry, v), false, v);
    assert.equal('VirtualSize' in withVirtualSize(entry, v), false, v);
  }
});

test('untagged images are listed as <none>:<none> and <none>@<none> before 1.43', () => {
  const untagged = { Size: 1, RepoTags: [] as string[], RepoDigests: [] as string[] };
  assert.deepEqual(imageListShape(untagged, '1.42').RepoTags, ['<none>:<none>']);
  assert.deepEqual(imageListShape(untagged, '1.42').RepoDigests, ['<none>@<none>']);
  assert.deepEqual(imageListShape(untagged, '1.43').RepoTags, []);
  const digestOnly = { Size: 1, RepoTags: [] as string[], RepoDigests: ['a@sha256:1'] };
  assert.deepEqual(imageListShape(digestOnly, '1.41').RepoTags, [], 'only entirely unnamed images');
});

test('image inspect keeps Container and ContainerConfig at 1.45 too (compose 1.29 reads them)', () => {
  const inspect = { Id: 'sha256:x', Size: 1, Config: {} };
  for (const v of ['1.41', '1.44', '1.45']) {
    assert.equal(imageInspectShape(inspect, v).Container, '');
    assert.equal((imageInspectShape(inspect, v).ContainerConfig as { Cmd: unknown }).Cmd, null);
  }
  assert.equal(imageInspectShape(inspect, '1.43').VirtualSize, 1);
  assert.equal('VirtualSize' in imageInspectShape(inspect, '1.44'), false);
});

function containerInspect(endpointId: string): ContainerInspect {
  const endpoint = (aliases: string[] | null) => ({
    Aliases: aliases,
    EndpointID: endpointId,
    NetworkID: 'n',
  });
  return {
    Id: ID,
    Name: '/web',
    Config: { Hostname: 'webhost' },
    NetworkSettings: { Networks: { appnet: endpoint(['api']), berth: endpoint(null) } },
  } as unknown as ContainerInspect;
}

test('DNSNames from 1.44 on user-defined networks; Aliases gain the short ID and hostname before 1.45', () => {
  const nets = (v: string) =>
    containerInspectShape(containerInspect('ep1'), v).NetworkSettings.Networks as unknown as Record<
      string,
      { Aliases: string[] | null; DNSNames?: string[] | null }
    >;
  assert.equal('DNSNames' in nets('1.43').appnet!, false);
  assert.deepEqual(nets('1.43').appnet!.Aliases, ['api', ID.slice(0, 12), 'webhost']);
  assert.deepEqual(nets('1.44').appnet!.DNSNames, ['web', 'api', ID.slice(0, 12), 'webhost']);
  assert.deepEqual(nets('1.44').appnet!.Aliases, ['api', ID.slice(0, 12), 'webhost']);
  assert.deepEqual(nets('1.45').appnet!.Aliases, ['api'], '1.45: exactly what create was given');
  assert.deepEqual(nets('1.45').appnet!.DNSNames, ['web', 'api', ID.slice(0, 12), 'webhost']);
  // the default network has no DNS: neither gains names
  assert.equal(nets('1.43').berth!.Aliases, null);
  assert.equal(nets('1.45').berth!.DNSNames, null);
  // a stopped container has no endpoint, so no DNS names yet
  const stopped = containerInspectShape(containerInspect(''), '1.45').NetworkSettings
    .Networks as unknown as Record<string, { DNSNames: unknown }>;
  assert.equal(stopped.appnet!.DNSNames, null);
});

test('create: before 1.44 Config.MacAddress goes to the main endpoint, endpoint MACs alone are ignored', () => {
  const moved = createBodyForVersion(
    { Image: 'bb', MacAddress: '02:42:ac:11:00:09', HostConfig: { NetworkMode: 'appnet' } },
    '1.41',
  );
  assert.equal('MacAddress' in moved.body, false);
  assert.deepEqual(moved.body.NetworkingConfig, {
    EndpointsConfig: { appnet: { MacAddress: '02:42:ac:11:00:09' } },
  });
  assert.deepEqual(moved.warnings, []);
  const ignored = createBodyForVersion(
    { Image: 'bb', NetworkingConfig: { EndpointsConfig: { appnet: { MacAddress: '02:42:ac:11:00:0a' } } } },
    '1.43',
  );
  assert.deepEqual(ignored.body.NetworkingConfig, { EndpointsConfig: { appnet: {} } });
  assert.throws(
    () =>
      createBodyForVersion({ Image: 'bb', NetworkingConfig: { EndpointsConfig: { a: {}, b: {} } } }, '1.43'),
    /multiple network endpoints/,
  );
  // from 1.44 several endpoints are fine and their own MACs count
  const kept = createBodyForVersion(
    { Image: 'bb', NetworkingConfig: { EndpointsConfig: { a: { MacAddress: 'm' }, b: {} } } },
    '1.44',
  );
  assert.deepEqual(kept.body.NetworkingConfig, { EndpointsConfig: { a: { MacAddress: 'm' }, b: {} } });
});

test('create from 1.44: the container-wide MacAddress still works, with the deprecation warning', () => {
  const r = createBodyForVersion({ Image: 'bb', MacAddress: 'm1', HostConfig: { NetworkMode: 'a' } }, '1.45');
  assert.deepEqual(r.body.NetworkingConfig, { EndpointsConfig: { a: { MacAddress: 'm1' } } });
  assert.match(r.warnings[0]!, /container-wide MacAddress field is now deprecated/);
  assert.throws(
    () =>
      createBodyForVersion(
        {
          Image: 'bb',
          MacAddress: 'm1',
          HostConfig: { NetworkMode: 'a' },
          NetworkingConfig: { EndpointsConfig: { a: { MacAddress: 'm2' } } },
        },
        '1.44',
      ),
    /must match the endpoint-specific MAC address/,
  );
  assert.throws(
    () =>
      createBodyForVersion({ Image: 'bb', MacAddress: 'm1', HostConfig: { NetworkMode: 'host' } }, '1.45'),
    /mac-address and the network mode/,
  );
});

test('create: Annotations are dropped before 1.43, ConsoleSize before 1.42', () => {
  const host = { Annotations: { a: 'b' }, ConsoleSize: [24, 80] };
  assert.deepEqual(createBodyForVersion({ Image: 'bb', HostConfig: host }, '1.41').body.HostConfig, {});
  assert.deepEqual(createBodyForVersion({ Image: 'bb', HostConfig: host }, '1.42').body.HostConfig, {
    ConsoleSize: [24, 80],
  });
  assert.deepEqual(createBodyForVersion({ Image: 'bb', HostConfig: host }, '1.43').body.HostConfig, host);
});
