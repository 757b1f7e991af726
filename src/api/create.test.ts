// Docker's create body (as the docker CLI sends it, zero values and all) to ContainerCreateOptions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOptionsFromBody } from './_create.js';

/** The shape of what docker 28 sends for `docker create IMG`: every field, mostly zero. */
const cliBody = (over: Record<string, unknown> = {}, host: Record<string, unknown> = {}) => ({
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: true,
  AttachStderr: true,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: [],
  Cmd: null,
  Image: 'bb',
  Volumes: {},
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: {},
  HostConfig: {
    Binds: null,
    LogConfig: { Type: '', Config: {} },
    NetworkMode: 'default',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    ConsoleSize: [0, 0],
    CapAdd: null,
    Dns: [],
    MemorySwappiness: -1,
    OomKillDisable: false,
    PidsLimit: 0,
    Ulimits: [],
    BlkioWeightDevice: [],
    ...host,
  },
  NetworkingConfig: { EndpointsConfig: { default: { IPAMConfig: null, Aliases: null, MacAddress: '' } } },
  ...over,
});

test('the docker CLI’s zero values give the plain options', () => {
  assert.deepEqual(createOptionsFromBody(cliBody(), 'x'), { image: 'bb', name: 'x' });
});

test('command, entrypoint, env, labels, ports, binds, restart and network are mapped', () => {
  const o = createOptionsFromBody(
    cliBody(
      {
        Cmd: ['-c', 'exit 3'],
        Entrypoint: ['sh'],
        Env: ['A=b'],
        Labels: { k: 'v' },
        WorkingDir: '/w',
        User: '1:1',
        Tty: true,
        OpenStdin: true,
        NetworkingConfig: { EndpointsConfig: { web: { Aliases: ['al'] } } },
      },
      {
        Binds: ['/tmp:/host:ro', 'vol:/data'],
        PortBindings: {
          '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
          '53/udp': [{ HostIp: '', HostPort: '' }],
        },
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
        NetworkMode: 'web',
        AutoRemove: true,
      },
    ),
    undefined,
  );
  assert.equal(o.entrypoint, 'sh');
  assert.deepEqual(o.command, ['-c', 'exit 3']);
  assert.deepEqual(o.env, ['A=b']);
  assert.deepEqual(o.labels, { k: 'v' });
  assert.equal(o.workdir, '/w');
  assert.equal(o.user, '1:1');
  assert.equal(o.tty, true);
  assert.equal(o.interactive, true);
  assert.equal(o.autoRemove, true);
  assert.deepEqual(o.restart, { name: 'on-failure', maxRetries: 2 });
  assert.deepEqual(o.networks, [{ name: 'web', aliases: ['al'] }]);
  assert.deepEqual(
    o.mounts?.map((m) => [m.type, m.source, m.target, m.readOnly]),
    [
      ['bind', '/tmp', '/host', true],
      ['volume', 'vol', '/data', false],
    ],
  );
  assert.deepEqual(
    o.ports?.map((p) => [p.hostIp, p.hostPort, p.containerPort, p.protocol]),
    [
      ['127.0.0.1', 8080, 80, 'tcp'],
      ['', 0, 53, 'udp'],
    ],
  );
});

test('an entrypoint of several words runs the rest ahead of the command', () => {
  const o = createOptionsFromBody(cliBody({ Entrypoint: ['sh', '-c'], Cmd: ['echo hi'] }), undefined);
  assert.equal(o.entrypoint, 'sh');
  assert.deepEqual(o.command, ['-c', 'echo hi']);
  assert.equal(createOptionsFromBody(cliBody({ Entrypoint: [] }), undefined).entrypoint, '');
});

test('Config.Volumes are anonymous volumes', () => {
  const o = createOptionsFromBody(cliBody({ Volumes: { '/data': {} } }), undefined);
  assert.deepEqual(
    o.mounts?.map((m) => [m.type, m.source, m.target]),
    [['volume', '', '/data']],
  );
});

test('a Config.Volumes path that a bind or named volume covers gets no anonymous volume too', () => {
  // what docker-compose sends for `volumes: ["data:/data"]`
  const o = createOptionsFromBody(
    cliBody({ Volumes: { '/data': {}, '/cache': {} } }, { Binds: ['proj_data:/data:rw'] }),
    undefined,
  );
  assert.deepEqual(
    o.mounts?.map((m) => [m.type, m.source, m.target]),
    [
      ['volume', 'proj_data', '/data'],
      ['volume', '', '/cache'],
    ],
  );
});

test('host, none and container: network modes', () => {
  const body = cliBody({ NetworkingConfig: {} }, { NetworkMode: 'host' });
  assert.equal(createOptionsFromBody(body, undefined).network, 'host');
});

test('set fields berth does not map are refused by name; bad types and missing Image too', () => {
  const refused: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{ Healthcheck: { Test: ['CMD', 'true'] } }, {}, /Healthcheck/],
    [{ Healthcheck: { Test: [] }, StopTimeout: 1, Shell: ['sh'] }, {}, /Shell/],
    [{}, { Sysctls: { 'net.ipv4.ip_forward': '1' } }, /HostConfig\.Sysctls/],
    [{}, { Devices: [{ PathOnHost: '/dev/kvm' }] }, /HostConfig\.Devices/],
    [{}, { SecurityOpt: ['apparmor=x'] }, /security-opt "apparmor=x"/],
    [{}, { MemorySwappiness: 10 }, /MemorySwappiness/],
    [{}, { LogConfig: { Type: 'syslog', Config: {} } }, /log driver "syslog"/],
    [{ Bogus: 1 }, {}, /Bogus/],
    [{ Env: 'A=b' }, {}, /"Env" must be a list of strings/],
    [{ Image: '' }, {}, /"Image" is required/],
    [{}, { Binds: ['../etc:/x'] }, /neither an absolute path nor a volume name/],
    [{}, { Binds: ['/a:/../etc'] }, /may not contain/],
    [{}, { PortBindings: { 'x/tcp': [] } }, /invalid port/],
    [{}, { RestartPolicy: { Name: 'sometimes' } }, /sometimes/],
  ];
  for (const [over, host, re] of refused) {
    assert.throws(
      () => createOptionsFromBody(cliBody(over, host), undefined),
      re,
      JSON.stringify([over, host]),
    );
  }
});

test('Mounts, Tmpfs, Ulimits, SecurityOpt, NanoCpus and LogConfig as the docker CLI sends them', () => {
  const profile = { defaultAction: 'SCMP_ACT_ALLOW' };
  const o = createOptionsFromBody(
    cliBody(
      {},
      {
        Mounts: [
          {
            Type: 'bind',
            Source: '/srv',
            Target: '/srv',
            ReadOnly: true,
            BindOptions: { Propagation: 'rslave' },
          },
          { Type: 'volume', Source: 'data', Target: '/data', VolumeOptions: { NoCopy: true } },
          { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 65536, Mode: 0o1777 } },
        ],
        Tmpfs: { '/run': 'rw,size=64m', '/run2': '' },
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
        SecurityOpt: ['no-new-privileges', `seccomp=${JSON.stringify(profile)}`, 'label=disable'],
        NanoCpus: 1_500_000_000,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
      },
    ),
    undefined,
  );
  assert.deepEqual(
    o.mounts?.map((m) => [m.type, m.source, m.target, m.readOnly, m.options]),
    [
      ['bind', '/srv', '/srv', true, ['rslave']],
      ['volume', 'data', '/data', false, []],
      ['tmpfs', '', '/scratch', false, ['size=65536', 'mode=1777']],
      ['tmpfs', '', '/run', false, ['size=64m']],
      ['tmpfs', '', '/run2', false, []],
    ],
  );
  assert.deepEqual(o.ulimits, [{ name: 'nofile', soft: 1024, hard: 2048 }]);
  assert.equal(o.noNewPrivileges, true);
  assert.deepEqual(o.seccomp, { profile });
  assert.deepEqual(o.cpus, { quota: 150_000, period: 100_000 });
  assert.deepEqual(o.log, { driver: 'json-file', maxSize: 1024 * 1024 });
});

test('CpuQuota/CpuPeriod are kept as given (not as NanoCpus); with NanoCpus they conflict', () => {
  const o = createOptionsFromBody(cliBody({}, { CpuQuota: 50_000, CpuPeriod: 200_000 }), 'x');
  assert.equal(o.cpus, undefined);
  assert.equal(o.cpuQuota, 50_000);
  assert.equal(o.cpuPeriod, 200_000);
  assert.throws(
    () => createOptionsFromBody(cliBody({}, { NanoCpus: 1e9, CpuQuota: 50_000 }), 'x'),
    /Conflicting options/,
  );
});

test('bad mounts, ulimits, security options and log settings are 400s naming the field', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ Mounts: [{ Type: 'bind', Source: 'rel', Target: '/x' }] }, /absolute/],
    [{ Mounts: [{ Type: 'nfs', Target: '/x' }] }, /type must be/],
    [
      { Mounts: [{ Type: 'volume', Target: '/x', VolumeOptions: { DriverConfig: { Name: 'x' } } }] },
      /DriverConfig/,
    ],
    [{ Mounts: [{ Type: 'bind', Source: '/a,b', Target: '/x' }] }, /comma/],
    [{ Binds: ['/a:/x'], Tmpfs: { '/x': '' } }, /Duplicate mount point/],
    [{ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }, /ulimit/],
    [{ Ulimits: [{ Name: 'nofile', Soft: '1', Hard: 1 }] }, /Soft/],
    [{ SecurityOpt: ['seccomp=/etc/profile.json'] }, /not a JSON profile/],
    [{ SecurityOpt: ['apparmor=docker-default'] }, /security-opt/],
    [{ LogConfig: { Type: 'syslog', Config: {} } }, /log driver "syslog"/],
    [{ LogConfig: { Type: 'json-file', Config: { 'max-file': '3' } } }, /max-file=3/],
    [{ LogConfig: { Type: 'json-file', Config: { tag: 'x' } } }, /"tag"/],
    [{ LogConfig: { Type: 'none', Config: { 'max-size': '1m' } } }, /takes no options/],
  ];
  for (const [host, re] of bad) {
    assert.throws(() => createOptionsFromBody(cliBody({}, host), 'x'), re, JSON.stringify(host));
  }
});
