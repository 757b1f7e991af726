// dockerode (npm, unmodified) as a resident client of `berth system service`: the calls SDK users
// make most, each checked for Docker's shapes: ping and version, lists, the container lifecycle,
// logs demultiplexed into stdout and stderr, a hijacked exec stream, archive round trips,
// volumes and networks, the events stream, and errors with Docker's status codes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { ApiService, apiLacking } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon', 'tar']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-dockerode-it-'));
const b = new Berth();
const IMG = 'local/bb:dockerode';
const api = new ApiService(b, work);
const docker = new Docker({ socketPath: api.sock });

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  await api.start();
});

after(async () => {
  await api.stop();
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Everything a readable stream yields until it ends. */
async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as Readable) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** A multiplexed stream split by docker.modem.demuxStream: stdout and stderr apart. */
async function demux(stream: NodeJS.ReadableStream): Promise<{ out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const outText = drain(out);
  const errText = drain(err);
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  out.end();
  err.end();
  return { out: (await outText).toString(), err: (await errText).toString() };
}

/** The status code dockerode puts on a failed call's error. */
async function statusOf(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode;
  }
  return undefined;
}

/** A container that sleeps, started, for exec and archive calls. */
async function sleeper(name: string): Promise<Docker.Container> {
  const c = await docker.createContainer({ Image: IMG, name, Cmd: ['sleep', '300'] });
  await c.start();
  return c;
}

describe('dockerode against berth system service', { skip }, () => {
  test('ping and version', async () => {
    assert.equal(String(await docker.ping()), 'OK');
    const v = await docker.version();
    assert.match(v.ApiVersion, /^1\.4[1-5]$/);
    assert.equal(v.Os, 'linux');
    assert.ok(v.Version);
  });

  test('listImages has the image; listContainers filters', async () => {
    const images = await docker.listImages();
    assert.ok(
      images.some((i) => i.RepoTags?.includes(IMG)),
      JSON.stringify(images),
    );
    const c = await docker.createContainer({ Image: IMG, name: 'listed', Labels: { suite: 'dockerode' } });
    const all = await docker.listContainers({ all: true, filters: { label: ['suite=dockerode'] } });
    assert.deepEqual(
      all.map((x) => [x.Id, x.Names, x.State]),
      [[c.id, ['/listed'], 'created']],
    );
    assert.deepEqual(await docker.listContainers({ filters: { label: ['suite=dockerode'] } }), []);
    await c.remove();
  });

  test('create, start, wait, inspect, logs demultiplexed, remove; then a 404', async () => {
    const c = await docker.createContainer({
      Image: IMG,
      Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2; echo more-out; exit 7'],
    });
    await c.start();
    const waited = await c.wait();
    assert.equal(waited.StatusCode, 7);
    const info = await c.inspect();
    assert.equal(info.State.Status, 'exited');
    assert.equal(info.State.ExitCode, 7);
    assert.equal(info.Id, c.id);
    const logs = await demux(await c.logs({ stdout: true, stderr: true, follow: true }));
    assert.deepEqual(logs, { out: 'to-out\nmore-out\n', err: 'to-err\n' });
    // not following, dockerode hands back the whole multiplexed body as a Buffer
    const onlyErr = await c.logs({ stdout: false, stderr: true, follow: false });
    assert.equal(onlyErr.subarray(8).toString(), 'to-err\n');
    assert.equal(onlyErr[0], 2);
    await c.remove();
    assert.equal(await statusOf(c.inspect()), 404);
    assert.equal(await statusOf(c.remove()), 404);
  });

  test('attach (dockerode’s plain POST, no upgrade) before start streams the output to the end', async () => {
    const c = await docker.createContainer({
      Image: IMG,
      Cmd: ['sh', '-c', 'echo attached-out; echo attached-err >&2; exit 2'],
    });
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const output = demux(stream);
    await c.start();
    assert.deepEqual(await output, { out: 'attached-out\n', err: 'attached-err\n' });
    assert.equal((await c.wait()).StatusCode, 2);
    await c.remove();
  });

  test('docker.run: create, attach, start and wait in one call, with and without a TTY', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const outText = drain(out);
    const errText = drain(err);
    const [result, c] = await docker.run(
      IMG,
      ['sh', '-c', 'echo run-out; echo run-err >&2; exit 4'],
      [out, err],
      {
        Tty: false,
      },
    );
    assert.equal(result.StatusCode, 4);
    assert.equal((await outText).toString(), 'run-out\n');
    assert.equal((await errText).toString(), 'run-err\n');
    await c.remove();
    const tty = new PassThrough();
    const ttyText = drain(tty);
    const [ttyResult, t] = await docker.run(IMG, ['echo', 'on-a-tty'], tty);
    assert.equal(ttyResult.StatusCode, 0);
    assert.equal((await ttyText).toString(), 'on-a-tty\r\n');
    await t.remove();
  });

  test('a container that exits at once reports its own exit code, not 137', async () => {
    // wait's inspect used to land between the process's exit and conmon's exit file, and
    // record the container as killed: a race, so several rounds
    for (let round = 0; round < 15; round++) {
      const c = await docker.createContainer({ Image: IMG, Cmd: ['sh', '-c', 'exit 7'] });
      await c.start();
      assert.equal((await c.wait()).StatusCode, 7, `round ${round}`);
      assert.equal((await c.inspect()).State.ExitCode, 7, `round ${round}`);
      await c.remove();
    }
  });

  test('exec through a hijacked stream: stdin in, stdout and stderr apart, exit code from inspect', async () => {
    const c = await sleeper('exec-target');
    const exec = await c.exec({
      Cmd: ['sh', '-c', 'read line; echo "got:$line"; echo "warn:$line" >&2; exit 3'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: true });
    const output = demux(stream);
    stream.write('hello\n');
    const { out, err } = await output;
    assert.equal(out, 'got:hello\n');
    assert.equal(err, 'warn:hello\n');
    const done = await waitFor(
      async () => {
        const i = await exec.inspect();
        return i.Running ? undefined : i;
      },
      { what: 'the exec to be reported finished' },
    );
    assert.equal(done.ExitCode, 3);
    // stdin closed by the client: `cat` sees its end and exits 0
    const cat = await c.exec({ Cmd: ['cat'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const catStream = await cat.start({ hijack: true, stdin: true });
    const catOut = demux(catStream);
    catStream.end('piped through\n');
    assert.deepEqual(await catOut, { out: 'piped through\n', err: '' });
    await waitFor(async () => (await cat.inspect()).Running === false, { what: 'cat to finish' });
    assert.equal((await cat.inspect()).ExitCode, 0);

    // dockerode's default start is a plain POST (no upgrade): the output is the response body
    const plain = await c.exec({
      Cmd: ['sh', '-c', 'echo plain-out; echo plain-err >&2; exit 4'],
      AttachStdout: true,
      AttachStderr: true,
    });
    assert.deepEqual(await demux(await plain.start({})), { out: 'plain-out\n', err: 'plain-err\n' });
    await waitFor(async () => (await plain.inspect()).ExitCode === 4, { what: 'the plain exec to exit 4' });
    // Detach: started, answered at once, runs on
    const detached = await c.exec({ Cmd: ['sh', '-c', 'echo detached > /tmp/detached'] });
    await detached.start({ Detach: true });
    // berth keeps no exit code for a detached exec (dockerd does): it is over when it stops running
    await waitFor(async () => (await detached.inspect()).Running === false, {
      what: 'the detached exec to finish',
    });
    const check = await c.exec({ Cmd: ['cat', '/tmp/detached'], AttachStdout: true, AttachStderr: true });
    assert.equal((await demux(await check.start({}))).out, 'detached\n');
    assert.equal(await statusOf(detached.start({})), 409);

    await c.pause();
    assert.equal(await statusOf(c.exec({ Cmd: ['true'] })), 409);
    await c.unpause();
    await c.remove({ force: true });
  });

  test('putArchive then getArchive round-trips a tar', async () => {
    const c = await sleeper('archive-target');
    const src = join(work, 'put');
    mkdirSync(join(src, 'dir'), { recursive: true });
    writeFileSync(join(src, 'dir', 'hello.txt'), 'hello through the archive\n');
    const tarIn = execFileSync('tar', ['-C', src, '-cf', '-', 'dir']);
    await c.putArchive(tarIn, { path: '/tmp' });
    const seen = await c.exec({ Cmd: ['cat', '/tmp/dir/hello.txt'], AttachStdout: true, AttachStderr: true });
    const seenOut = await demux(await seen.start({ hijack: true, stdin: false }));
    assert.equal(seenOut.out, 'hello through the archive\n');

    const tarOut = await drain(await c.getArchive({ path: '/tmp/dir' }));
    const dest = join(work, 'got');
    mkdirSync(dest);
    execFileSync('tar', ['-C', dest, '-xf', '-'], { input: tarOut });
    assert.equal(readFileSync(join(dest, 'dir', 'hello.txt'), 'utf8'), 'hello through the archive\n');
    const stat = await c.infoArchive({ path: '/tmp/dir/hello.txt' });
    assert.ok(stat, 'infoArchive answers');
    assert.equal(await statusOf(c.getArchive({ path: '/no/such/path' })), 404);
    await c.remove({ force: true });
  });

  test('commit makes an image of a container’s changes', async () => {
    const c = await docker.createContainer({ Image: IMG, Cmd: ['sh', '-c', 'echo committed > /made-here'] });
    await c.start();
    await c.wait();
    const made = await c.commit({ repo: 'local/committed', tag: 'v1', comment: 'by dockerode' });
    const image = await docker.getImage('local/committed:v1').inspect();
    assert.equal(image.Id, made.Id);
    const run = await docker.createContainer({ Image: 'local/committed:v1', Cmd: ['cat', '/made-here'] });
    await run.start();
    assert.equal((await run.wait()).StatusCode, 0);
    const out = await demux(await run.logs({ stdout: true, stderr: true, follow: true }));
    assert.equal(out.out, 'committed\n');
    await run.remove();
    await c.remove();
    await docker.getImage('local/committed:v1').remove();
  });

  test('volumes and networks: create, inspect, list, remove', async () => {
    // dockerode resolves to a Volume handle (its types say the create response)
    const vol = (await docker.createVolume({
      Name: 'dockerode-vol',
      Labels: { suite: 'dockerode' },
    })) as unknown as Docker.Volume;
    assert.equal(vol.name, 'dockerode-vol');
    const volInfo = await docker.getVolume('dockerode-vol').inspect();
    assert.equal(volInfo.Labels.suite, 'dockerode');
    const vols = await docker.listVolumes({ filters: { label: ['suite=dockerode'] } });
    assert.deepEqual(
      vols.Volumes.map((v) => v.Name),
      ['dockerode-vol'],
    );
    await docker.getVolume('dockerode-vol').remove();
    assert.equal(await statusOf(docker.getVolume('dockerode-vol').inspect()), 404);

    const net = await docker.createNetwork({ Name: 'dockerode-net', Labels: { suite: 'dockerode' } });
    const netInfo = await net.inspect();
    assert.equal(netInfo.Name, 'dockerode-net');
    assert.equal(netInfo.Id, net.id);
    const nets = await docker.listNetworks({ filters: { label: ['suite=dockerode'] } });
    assert.deepEqual(
      nets.map((n) => n.Name),
      ['dockerode-net'],
    );
    await net.remove();
    assert.equal(await statusOf(net.inspect()), 404);
  });

  test('getEvents streams a container’s events as they happen', async () => {
    const events = await docker.getEvents({ filters: { type: ['container'] } });
    const seen: { Action: string; id?: string; Actor: { ID: string } }[] = [];
    let buffered = '';
    events.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        if (buffered.slice(0, nl).trim()) seen.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    });
    try {
      const c = await docker.createContainer({ Image: IMG, Cmd: ['true'] });
      await c.start();
      await c.wait();
      await c.remove();
      const actions = await waitFor(
        () => {
          const mine = seen.filter((e) => e.Actor.ID === c.id).map((e) => e.Action);
          return mine.includes('destroy') ? mine : undefined;
        },
        { what: 'the container’s events up to destroy' },
      );
      for (const a of ['create', 'start', 'die', 'destroy'])
        assert.ok(actions.includes(a), `${a} in ${actions}`);
    } finally {
      (events as Readable).destroy();
    }
  });

  test('errors: 404 for what is missing, 400 for a bad request, 403 for what is built in, 409 for a clash', async () => {
    const missing = docker.getContainer('no-such-container');
    assert.equal(await statusOf(missing.inspect()), 404);
    assert.equal(await statusOf(missing.start()), 404);
    assert.equal(await statusOf(docker.createContainer({ Image: 'local/absent:1' })), 404);
    assert.equal(await statusOf(docker.getImage('local/absent:1').inspect()), 404);
    assert.equal(
      await statusOf(docker.createContainer({ Image: IMG, HostConfig: { PortBindings: { bogus: [] } } })),
      400,
    );
    // docker's pre-defined networks cannot be removed; `bridge` is berth's default network
    for (const n of ['bridge', 'host', 'none'])
      assert.equal(await statusOf(docker.getNetwork(n).remove()), 403, n);
    assert.equal((await docker.getNetwork('bridge').inspect()).Name, 'berth');
    assert.equal(await statusOf(docker.getNetwork('berth').remove()), 403);
    const c = await docker.createContainer({ Image: IMG, name: 'clash' });
    assert.equal(await statusOf(docker.createContainer({ Image: IMG, name: 'clash' })), 409);
    await c.remove();
    const err = await missing.inspect().catch((e: unknown) => e as { json?: { message?: string } });
    assert.match(String((err as { json?: { message?: string } }).json?.message), /no-such-container/);
  });
});
