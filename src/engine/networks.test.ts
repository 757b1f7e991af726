// The Engine's network use-cases over a temp root: Docker's inspect shape, filters checked
// first, "in use" from container records (refusing rm, skipped by prune), and attached
// containers in inspect. Subnets are picked by pickFreeSubnet or are 10.231.x.0/24.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { putImage } from '../../test/helpers/store-fixtures.js';
import type { StoredContainerConfig } from '../container/index.js';
import { hasCode } from '../errors/index.js';
import type { NetworkEndpoint } from '../network/index.js';
import { Store } from '../store/index.js';
import { formatNetwork } from './_format-network.js';
import { networksOfContainer } from './_networks.js';
import { Engine } from './engine.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-engine-net-'));
const root = join(dir, 'root');
const engine = new Engine({ root, runroot: join(dir, 'run') });
const store = Store.open(root);
after(() => {
  engine.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const isCode = (code: string, pattern?: RegExp) => (err: unknown) => {
  assert.ok(hasCode(err, code as 'CONFLICT'), String(err));
  if (pattern) assert.match((err as Error).message, pattern);
  return true;
};

let image: string | undefined;
async function addContainer(
  name: string,
  options: Partial<StoredContainerConfig['options']>,
  endpoints: NetworkEndpoint[] = [],
): Promise<string> {
  image ??= (await putImage(store, { seed: 'net-img', layers: ['l1'] })).id;
  const id = randomBytes(32).toString('hex');
  const config: StoredContainerConfig = {
    options: { image: 'bb', ...options },
    imageId: image,
    imageName: 'bb',
    args: ['true'],
    env: [],
    workdir: '/',
    hostname: name,
    stopSignal: 'SIGTERM',
    stopTimeout: 10,
    ...(endpoints.length ? { netStatus: { netns: '/run/netns/x', endpoints, ports: [] } } : {}),
  };
  store.createContainer({ id, name, imageId: image as never, config });
  // endpoints are only shown while the container runs
  if (endpoints.length) store.updateContainer(id, { state: 'running', pid: 1 });
  return id;
}

test('filters are checked before anything is listed', async () => {
  const bad = isCode('INVALID_ARGUMENT');
  assert.throws(() => engine.listNetworks({ filters: ['bogus=1'] }), bad);
  assert.throws(() => engine.listNetworks({ filters: ['dangling=maybe'] }), bad);
  assert.throws(() => engine.listNetworks({ filters: ['type=weird'] }), bad);
  assert.throws(() => engine.listNetworks({ filters: { name: ['('] } }), bad);
  await assert.rejects(() => engine.pruneNetworks({ filters: ['driver=bridge'] }), bad);
  await assert.rejects(() => engine.pruneNetworks({ filters: ['until=yesterday-ish'] }), bad);
});

test('create, inspect and list: Docker shape, default network made first, filters', () => {
  const n = engine.createNetwork({
    name: 'front',
    labels: { tier: 'web' },
    subnets: [{ subnet: '10.231.40.0/24', gateway: '10.231.40.1', ipRange: '10.231.40.0/25' }],
  });
  assert.deepEqual(n, {
    Name: 'front',
    Id: n.Id,
    Created: n.Created,
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: [{ Subnet: '10.231.40.0/24', Gateway: '10.231.40.1', IPRange: '10.231.40.0/25' }],
    },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: { tier: 'web' },
  });
  assert.match(n.Id, /^[0-9a-f]{64}$/);
  engine.createNetwork({ name: 'back', internal: true, dns: false });
  const names = (filters?: string[]) => engine.listNetworks(filters ? { filters } : {}).map((x) => x.Name);
  assert.deepEqual(names(), ['back', 'berth', 'front']);
  assert.deepEqual(names(['type=builtin']), ['berth']);
  assert.deepEqual(names(['type=custom']), ['back', 'front']);
  assert.deepEqual(names(['label=tier=web']), ['front']);
  assert.deepEqual(names(['name=^b']), ['back', 'berth']);
  assert.deepEqual(names(['driver=macvlan']), []);
  assert.deepEqual(names([`id=${n.Id.slice(0, 10)}`]), ['front']);
  assert.deepEqual(names(['dangling=true']), ['back', 'front']);
  assert.equal(engine.inspectNetwork(n.Id.slice(0, 12)).Name, 'front');
  assert.equal(engine.inspectNetwork('berth').Options['com.docker.network.bridge.name'], undefined);
  assert.equal(engine.inspectNetwork('bridge').Name, 'berth', "docker's name for the default network");
  assert.throws(() => engine.inspectNetwork('nope'), isCode('NOT_FOUND', /no such network: nope/));
  assert.throws(() => engine.createNetwork({ name: 'front' }), isCode('ALREADY_EXISTS'));
  assert.deepEqual(JSON.parse(JSON.stringify(n)), n);
});

test('which networks a container record joins', () => {
  const rec = (options: Partial<StoredContainerConfig['options']>) =>
    ({ config: { options: { image: 'x', ...options } } }) as never;
  assert.deepEqual(networksOfContainer(rec({})), ['berth']);
  assert.deepEqual(networksOfContainer(rec({ networks: [] })), ['berth']);
  assert.deepEqual(networksOfContainer(rec({ network: 'none' })), []);
  assert.deepEqual(networksOfContainer(rec({ network: 'container:abc' })), []);
  assert.deepEqual(networksOfContainer(rec({ networks: [{ name: 'a' }, { name: 'b' }] })), ['a', 'b']);
  assert.deepEqual(networksOfContainer(rec({ networks: [{ name: 'bridge' }] })), ['berth']);
});

test('rm and prune respect containers that name a network; inspect lists attached endpoints', async () => {
  engine.createNetwork({ name: 'used', subnets: [{ subnet: '10.231.41.0/24' }] });
  engine.createNetwork({ name: 'idle', labels: { keep: '1' } });
  engine.createNetwork({ name: 'idle2' });
  const used = engine.inspectNetwork('used');
  const c1 = await addContainer('c1', { networks: [{ name: 'used' }] }, [
    {
      network: 'used',
      networkId: used.Id,
      endpointId: 'e'.repeat(64),
      ifname: 'eth0',
      mac: '02:42:0a:e7:29:02',
      ipv4: '10.231.41.2/24',
      aliases: [],
      cacheFile: '/x',
    },
  ]);
  await addContainer('c2', { networks: [{ name: 'used' }] });
  await addContainer('c3', {}); // the default network
  await addContainer('c4', { network: 'none' });

  await assert.rejects(
    () => engine.removeNetwork('used'),
    isCode('CONFLICT', /network used is in use by container\(s\) c1, c2/),
  );
  await assert.rejects(
    () => engine.removeNetwork('berth'),
    isCode('CONFLICT', /in use by container\(s\) c3/),
  );
  await assert.rejects(() => engine.removeNetwork('gone'), isCode('NOT_FOUND'));

  const info = engine.inspectNetwork('used');
  assert.deepEqual(info.Containers, {
    [c1]: {
      Name: 'c1',
      EndpointID: 'e'.repeat(64),
      MacAddress: '02:42:0a:e7:29:02',
      IPv4Address: '10.231.41.2/24',
      IPv6Address: '',
    },
  });
  assert.deepEqual(
    engine.listNetworks({ filters: ['dangling=false'] }).map((n) => n.Name),
    ['berth', 'used'],
  );

  assert.deepEqual((await engine.pruneNetworks({ filters: ['label!=keep'] })).deleted, [
    'back',
    'front',
    'idle2',
  ]);
  assert.deepEqual((await engine.pruneNetworks()).deleted, ['idle']);
  assert.deepEqual(
    engine.listNetworks().map((n) => n.Name),
    ['berth', 'used'],
  );
  engine.createNetwork({ name: 'later' });
  assert.deepEqual(
    (await engine.pruneNetworks({ filters: ['until=1h'] })).deleted,
    [],
    'created after "until"',
  );
  await engine.removeNetwork('later');
  assert.throws(() => engine.inspectNetwork('later'), isCode('NOT_FOUND'));
});

test('formatNetwork gives IPv6 and options as recorded', () => {
  const info = formatNetwork(
    {
      name: 'n6',
      id: 'f'.repeat(64),
      driver: 'bridge',
      created: '2026-01-01T00:00:00.000Z',
      labels: {},
      options: { mtu: '1400' },
      internal: true,
      ipv6: true,
      dnsEnabled: true,
      bridge: 'berth9',
      subnets: [
        { subnet: '10.231.42.0/24', gateway: '10.231.42.1' },
        { subnet: 'fd00:231::/64', gateway: 'fd00:231::1' },
      ],
      conflist: { cniVersion: '1.0.0', name: 'n6', plugins: [{ type: 'bridge' }] },
    },
    [],
  );
  assert.equal(info.EnableIPv6, true);
  assert.equal(info.Internal, true);
  assert.deepEqual(info.Options, { mtu: '1400' });
  assert.deepEqual(
    info.IPAM.Config.map((c) => c.Subnet),
    ['10.231.42.0/24', 'fd00:231::/64'],
  );
});
