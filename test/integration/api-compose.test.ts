// docker-compose 1.29 (Debian's, unmodified) against `berth system service`: a project of two
// services on a user network, a named volume and a port published on 127.0.0.1, driven through
// up -d, ps, logs, exec -T, run --rm, stop, start and down -v. What is left afterwards is
// checked with berth's own CLI on the same root.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking } from '../helpers/api.js';
import { Berth, type RunResult, runProcess } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { bodyOnceServing, freePorts } from '../helpers/net.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const COMPOSE = '/usr/bin/docker-compose';
const lacking = apiLacking(['runc', 'conmon', COMPOSE]);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-compose-it-'));
const b = new Berth();
const IMG = 'local/bb:compose';
const api = new ApiService(b, work);
const projectDir = join(work, 'project');
// network names reach the host-wide DNS state: one project name per run
const project = `bc${randomBytes(3).toString('hex')}`;
let port = 0;

function composeFile(hostPort: number): string {
  const web = [
    'mkdir -p /www',
    'echo hello-from-web > /www/index.html',
    'echo web-started',
    'exec httpd -f -p 80 -h /www',
  ].join(' && ');
  return [
    'version: "3.7"',
    'services:',
    '  web:',
    `    image: ${IMG}`,
    `    command: ["sh", "-c", "${web}"]`,
    '    networks: [back]',
    `    ports: ["127.0.0.1:${hostPort}:80"]`,
    '    volumes: ["data:/data"]',
    '  client:',
    `    image: ${IMG}`,
    '    command: ["sleep", "3600"]',
    '    networks: [back]',
    'networks:',
    '  back:',
    'volumes:',
    '  data:',
    '',
  ].join('\n');
}

function compose(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<RunResult> {
  return runProcess(COMPOSE, ['-p', project, '--ansi', 'never', ...args], {
    cwd: projectDir,
    env: { DOCKER_HOST: `unix://${api.sock}`, DOCKER_CONFIG: join(work, 'docker-config'), ...options.env },
    timeoutMs: 120_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

async function composeOk(args: string[]): Promise<string> {
  const r = await compose(args);
  if (r.code !== 0) {
    throw new Error(
      `docker-compose ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}\nservice: ${api.log}`,
    );
  }
  return r.stdout;
}

const lines = (s: string) => s.trim().split('\n').filter(Boolean);
const projectContainers = async () =>
  lines(await b.ok(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]));

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  port = await freePorts(1);
  mkdirSync(projectDir);
  writeFileSync(join(projectDir, 'docker-compose.yml'), composeFile(port));
  await api.start();
});

after(async () => {
  if (!skip) await compose(['down', '-v', '-t', '1']).catch(() => undefined);
  await api.stop();
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  await b.run(['network', 'rm', `${project}_back`]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('docker-compose 1.29 against berth system service', { skip }, () => {
  test('up -d makes the network, the volume and one container per service', async () => {
    await composeOk(['up', '-d']);
    assert.equal((await projectContainers()).length, 2);
    assert.match(await b.ok(['network', 'ls']), new RegExp(`${project}_back`));
    // the named volume covers /data: no anonymous volume besides it
    assert.deepEqual(lines(await b.ok(['volume', 'ls', '-q'])), [`${project}_data`]);
  });

  test('ps lists each service container once, up', async () => {
    const out = await composeOk(['ps']);
    for (const name of [`${project}_web_1`, `${project}_client_1`]) {
      const rows = lines(out).filter((l) => l.startsWith(`${name} `));
      assert.equal(rows.length, 1, `${name} once in\n${out}`);
      assert.match(rows[0]!, / Up /);
    }
    assert.match(out, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));
    assert.equal(lines(await composeOk(['ps', '-q'])).length, 2);
  });

  test('the services reach each other by service name; the published port answers', async () => {
    const body = await waitFor(
      async () => {
        const r = await compose(['exec', '-T', 'client', 'wget', '-q', '-O-', 'http://web:80/']);
        return r.code === 0 ? r.stdout : undefined;
      },
      { what: 'client to reach http://web:80/' },
    );
    assert.equal(body, 'hello-from-web\n');
    const lookup = await composeOk(['exec', '-T', 'web', 'nslookup', 'client']);
    assert.match(lookup, /Address:? .*\d+\.\d+\.\d+\.\d+/);
    assert.equal(await bodyOnceServing('127.0.0.1', port), 'hello-from-web\n');
  });

  test('logs show what the services printed', async () => {
    await waitFor(async () => (await composeOk(['logs', '--no-color', 'web'])).includes('web-started'), {
      what: 'compose logs to show web-started',
    });
    const out = await composeOk(['logs', '--no-color', 'web']);
    assert.match(out, /web_1 +\| web-started/);
  });

  test('run --rm: a one-off container on the project network, gone afterwards', async () => {
    const out = await composeOk(['run', '--rm', '-T', 'client', 'wget', '-q', '-O-', 'http://web/']);
    assert.equal(out.trim(), 'hello-from-web');
    // without -T, as a user types it (compose hands the start to the docker CLI)
    assert.match(await composeOk(['run', '--rm', 'client', 'sh', '-c', 'echo one-off']), /one-off/);
    assert.equal((await projectContainers()).length, 2);
    assert.deepEqual(
      lines(await b.ok(['ps', '-aq', '--filter', 'label=com.docker.compose.oneoff=True'])),
      [],
    );
  });

  test('run --rm without the docker CLI: compose attaches through the API itself', async () => {
    // COMPOSE_INTERACTIVE_NO_CLI: dockerpty attaches (reading Config.Attach* from inspect)
    const env = { COMPOSE_INTERACTIVE_NO_CLI: '1' };
    const r = await compose(
      ['run', '--rm', '-T', 'client', 'sh', '-c', 'echo no-cli; echo to-err >&2; exit 5'],
      {
        env,
      },
    );
    assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}\nservice: ${api.log}`);
    assert.equal(r.stdout, 'no-cli\n');
    assert.match(r.stderr, /to-err/);
    const piped = await compose(['run', '--rm', 'client', 'sh', '-c', 'read line; echo "got:$line"'], {
      env,
      input: 'piped-in\n',
    });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'got:piped-in\n');
    assert.equal((await projectContainers()).length, 2);
  });

  test('the volume keeps its data across stop and start', async () => {
    await composeOk(['exec', '-T', 'web', 'sh', '-c', 'echo persisted > /data/f']);
    await composeOk(['stop', '-t', '1']);
    const stopped = await composeOk(['ps']);
    assert.doesNotMatch(stopped, / Up /);
    assert.match(stopped, /Exit /);
    await composeOk(['start']);
    assert.equal(await composeOk(['exec', '-T', 'web', 'cat', '/data/f']), 'persisted\n');
    assert.equal(await bodyOnceServing('127.0.0.1', port), 'hello-from-web\n');
  });

  test('up -d again leaves the running services as they are', async () => {
    const before = await projectContainers();
    const r = await compose(['up', '-d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /is up-to-date/);
    assert.deepEqual((await projectContainers()).sort(), before.sort());
  });

  test('up -d --force-recreate replaces a service container, its volume data kept', async () => {
    // compose reads the image's ContainerConfig to carry volumes over, at the API version
    // docker-py negotiates (1.45): berth keeps that field there (dockerd 26+ dropped it, and
    // compose 1.29 then fails here)
    const before = lines(await b.ok(['ps', '-q', '--filter', `name=${project}_web_1`]));
    const r = await compose(['up', '-d', '--force-recreate', '-t', '1', 'web']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\nservice: ${api.log}`);
    const after = lines(await b.ok(['ps', '-q', '--filter', `name=${project}_web_1`]));
    assert.equal(after.length, 1);
    assert.notDeepEqual(after, before);
    assert.equal(await composeOk(['exec', '-T', 'web', 'cat', '/data/f']), 'persisted\n');
    assert.equal(await bodyOnceServing('127.0.0.1', port), 'hello-from-web\n');
  });

  test('down -v leaves no container, network or volume', async () => {
    await composeOk(['down', '-v', '-t', '1']);
    assert.deepEqual(await projectContainers(), []);
    assert.deepEqual(lines(await b.ok(['ps', '-aq'])), []);
    assert.doesNotMatch(await b.ok(['network', 'ls']), new RegExp(project));
    assert.deepEqual(lines(await b.ok(['volume', 'ls', '-q'])), []);
    assert.equal(await api.ping(), 'OK');
  });
});
