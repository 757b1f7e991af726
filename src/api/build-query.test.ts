import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostPlatform } from '../oci/index.js';
import {
  buildEventLines,
  buildSuccessLines,
  parseBuildQuery,
  parseCommitQuery,
  parseRegistryConfig,
} from './_build-query.js';
import { HttpError } from './_http.js';

const q = (s: string) => new URLSearchParams(s);

/** What the docker CLI (20.10 and 28.x, legacy builder) sends for a plain `docker build .`. */
const CLI_DEFAULTS =
  'buildargs=%7B%7D&cachefrom=%5B%5D&cgroupparent=&cpuperiod=0&cpuquota=0&cpusetcpus=&cpusetmems=&cpushares=0' +
  '&dockerfile=Dockerfile&labels=%7B%7D&memory=0&memswap=0&networkmode=default&rm=1&shmsize=0&target=&ulimits=null&version=1';

function refused(query: string, status: number, pattern: RegExp): void {
  assert.throws(
    () => parseBuildQuery(q(query)),
    (err: unknown) => {
      const s =
        err instanceof HttpError
          ? err.status
          : (err as { code?: string }).code === 'INVALID_ARGUMENT'
            ? 400
            : 0;
      assert.equal(s, status, String(err));
      assert.match((err as Error).message, pattern);
      return true;
    },
  );
}

describe('POST /build query', () => {
  test('the docker CLI defaults ask for nothing special', () => {
    const b = parseBuildQuery(q(CLI_DEFAULTS));
    assert.deepEqual(b, {
      tags: [],
      dockerfile: 'Dockerfile',
      quiet: false,
      noCache: false,
      pull: false,
      squash: false,
      buildArgs: {},
      labels: {},
      cacheFrom: [],
    });
  });

  test('tags repeat; build args, labels, target, flags and network map onto the request', () => {
    const b = parseBuildQuery(
      q(
        `t=a:1&t=localhost:5000/b&buildargs=${encodeURIComponent('{"A":"1","B":null}')}` +
          `&labels=${encodeURIComponent('{"l":"v"}')}&target=build&nocache=1&pull=true&squash=1&q=1&networkmode=none&buildid=x1`,
      ),
    );
    assert.deepEqual(b.tags, ['a:1', 'localhost:5000/b']);
    assert.deepEqual(b.buildArgs, { A: '1' });
    assert.deepEqual(b.labels, { l: 'v' });
    assert.equal(b.target, 'build');
    assert.equal(b.noCache, true);
    assert.equal(b.pull, true);
    assert.equal(b.squash, true);
    assert.equal(b.quiet, true);
    assert.equal(b.network, 'none');
    assert.equal(b.buildId, 'x1');
  });

  test('SOURCE_DATE_EPOCH as a build arg sets the build timestamp', () => {
    const b = parseBuildQuery(
      q(`buildargs=${encodeURIComponent('{"SOURCE_DATE_EPOCH":"1700000000","X":"y"}')}`),
    );
    assert.equal(b.sourceDateEpoch, 1700000000);
    assert.deepEqual(b.buildArgs, { X: 'y' });
    refused(`buildargs=${encodeURIComponent('{"SOURCE_DATE_EPOCH":"soon"}')}`, 400, /SOURCE_DATE_EPOCH/);
  });

  test('the host platform is accepted, another is refused', () => {
    const h = hostPlatform();
    assert.doesNotThrow(() => parseBuildQuery(q(`platform=${h.os}/${h.architecture}`)));
    const other = h.architecture === 's390x' ? 'linux/amd64' : 'linux/s390x';
    refused(`platform=${other}`, 400, /builds for this machine's platform/);
  });

  test('what berth cannot honour is a clear 400', () => {
    refused('remote=https://example.com/ctx.tar', 400, /remote build contexts/);
    refused('dockerfile=https://example.com/Dockerfile', 400, /remote Dockerfiles/);
    refused('version=2', 400, /BuildKit/);
    refused('session=abc', 400, /BuildKit/);
    refused('outputs=%5B%5D', 400, /BuildKit/);
    refused('memory=1048576', 400, /memory limit/);
    refused('shmsize=65536', 400, /shm/);
    refused('cpusetcpus=0', 400, /CPU sets/);
    refused('cgroupparent=x', 400, /cgroup parent/);
    refused(`ulimits=${encodeURIComponent('[{"Name":"nofile","Soft":1,"Hard":1}]')}`, 400, /ulimits/);
    refused('extrahosts=a:1.2.3.4', 400, /extra hosts/);
    refused('securityopt=seccomp=unconfined', 400, /security options/);
    refused('networkmode=bridge', 400, /network mode "bridge"/);
    refused('isolation=hyperv', 400, /isolation/);
  });

  test('malformed input is a 400; unknown parameters are ignored, as dockerd does', () => {
    refused('buildargs=%7Bnot', 400, /not JSON/);
    refused(`buildargs=${encodeURIComponent('["a"]')}`, 400, /JSON object/);
    refused(`labels=${encodeURIComponent('{"a":1}')}`, 400, /must be a string/);
    refused(`cachefrom=${encodeURIComponent('{"a":1}')}`, 400, /list of strings/);
    refused('t=UPPER:case', 400, /invalid tag/);
    refused('nocache=maybe', 400, /boolean/);
    refused('version=3', 400, /builder version/);
  });
});

describe('X-Registry-Config', () => {
  test('base64url JSON of registry auths; empty means none', () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    assert.deepEqual(parseRegistryConfig(undefined), {});
    assert.deepEqual(parseRegistryConfig('e30='), {});
    assert.deepEqual(
      parseRegistryConfig(enc({ 'r.example:5000': { username: 'u', password: 'p', email: '' } })),
      {
        'r.example:5000': { username: 'u', password: 'p' },
      },
    );
    // `auth` (base64 user:password) and identity tokens, as docker config files hold them
    assert.deepEqual(
      parseRegistryConfig(
        enc({
          a: { auth: Buffer.from('u:p:q').toString('base64') },
          b: { identitytoken: 't' },
          c: { email: 'x' },
        }),
      ),
      { a: { username: 'u', password: 'p:q' }, b: { identityToken: 't' } },
    );
    assert.throws(() => parseRegistryConfig(enc({ a: { username: 1 } })), /X-Registry-Config/);
    assert.throws(() => parseRegistryConfig('!!!'), /X-Registry-Config/);
    assert.throws(() => parseRegistryConfig(enc({ r: 'x' })), /not an object/);
    assert.throws(() => parseRegistryConfig(enc([1])), /JSON object/);
  });
});

describe('the classic build stream', () => {
  test('steps, output and cache hits as the classic builder words them', () => {
    assert.deepEqual(
      buildEventLines({ type: 'step', id: 1, stage: 'stage-0', index: 2, total: 3, text: 'RUN x' }, false),
      [{ stream: 'Step 2/3 : RUN x\n' }],
    );
    assert.deepEqual(
      buildEventLines({ type: 'step', id: 4, stage: 'build', index: 1, total: 2, text: 'FROM a' }, false),
      [{ stream: '[build] Step 1/2 : FROM a\n' }],
    );
    assert.deepEqual(buildEventLines({ type: 'output', id: 1, stream: 'stderr', line: 'hi' }, false), [
      { stream: 'hi\n' },
    ]);
    assert.deepEqual(buildEventLines({ type: 'cached', id: 1 }, false), [{ stream: ' ---> Using cache\n' }]);
    assert.deepEqual(buildEventLines({ type: 'done', id: 1, ms: 3 }, false), []);
    assert.deepEqual(buildEventLines({ type: 'warning', message: 'w' }, false), [
      { stream: '[WARNING]: w\n' },
    ]);
  });

  test('quiet: nothing but a failure output, then the ID alone', () => {
    assert.deepEqual(buildEventLines({ type: 'output', id: 1, stream: 'stdout', line: 'hi' }, true), []);
    assert.deepEqual(buildEventLines({ type: 'failed', id: 1, message: 'm', output: ['a', 'b'] }, true), [
      { stream: 'a\n' },
      { stream: 'b\n' },
    ]);
    const id = `sha256:${'ab'.repeat(32)}`;
    assert.deepEqual(buildSuccessLines(id, ['x'], true), [{ aux: { ID: id } }, { stream: `${id}\n` }]);
  });

  test('success names the short ID and every tag', () => {
    const id = `sha256:${'0123456789ab'.repeat(5)}abcd`;
    assert.deepEqual(buildSuccessLines(id, ['x', 'y:2', 'localhost:5000/z'], false), [
      { aux: { ID: id } },
      { stream: ' ---> 0123456789ab\n' },
      { stream: 'Successfully built 0123456789ab\n' },
      { stream: 'Successfully tagged x:latest\n' },
      { stream: 'Successfully tagged y:2\n' },
      { stream: 'Successfully tagged localhost:5000/z:latest\n' },
    ]);
  });
});

describe('POST /commit query', () => {
  test('docker commit parameters', () => {
    assert.deepEqual(
      parseCommitQuery(
        q('container=c1&repo=img&tag=1&comment=m&author=me&changes=CMD+x&changes=ENV+a%3Db&pause=0'),
      ),
      {
        container: 'c1',
        reference: 'img:1',
        comment: 'm',
        author: 'me',
        changes: ['CMD x', 'ENV a=b'],
        pause: false,
      },
    );
    assert.deepEqual(parseCommitQuery(q('container=c1')), { container: 'c1', changes: [], pause: true });
    assert.throws(() => parseCommitQuery(q('repo=x')), /"container"/);
    assert.throws(() => parseCommitQuery(q('container=c&tag=1')), /repository/);
    assert.throws(() => parseCommitQuery(q('container=c&repo=BAD')), /invalid|reference/i);
    // dockerode sends every option in the query: what is not a commit parameter is ignored
    assert.equal(parseCommitQuery(q('container=c&x=1')).container, 'c');
  });
});
