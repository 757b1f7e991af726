// The events journal end to end: real containers (runc/crun, conmon, overlayfs) on a busybox
// image, with events read back through `berth events` by other processes, including the `die`
// that conmon's exit command records and a follower that sees a run live.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth, hasCommand } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { missing, skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const why =
  missing({ root: true, commands: ['conmon'] }) ??
  (!hasCommand('runc') && !hasCommand('crun') ? 'runc or crun' : undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-events-it-'));
const b = new Berth();
const IMG = 'local/bb:events';

/** Now, as `--until` takes it (unix seconds with milliseconds). */
const nowSeconds = () => (Date.now() / 1000).toFixed(3);

/** Call `fn` until it returns a value, failing at the deadline (a poll, not a sleep). */
function eventually<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  return waitFor(fn, { what, timeoutMs: 60_000, intervalMs: 100 });
}

/** `berth events` over a closed window: the recorded events, one formatted line each. */
async function recorded(since: string, filters: string[], format: string): Promise<string[]> {
  const out = await b.ok([
    'events',
    '--since',
    since,
    '--until',
    nowSeconds(),
    ...filters.flatMap((f) => ['--filter', f]),
    '--format',
    format,
  ]);
  return out.split('\n').filter(Boolean);
}

describe('events', { skip: skipUnless(why ?? '', why === undefined) }, () => {
  before(async () => {
    const bundle = await makeBusyboxBundle(join(work, 'bundle'));
    await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG, ['CMD ["sh"]']);
  });

  after(async () => {
    const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await b.run(['rm', '-f', ...ids]);
    b.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test("run -d: create, start, and the die with its exit code that conmon's cleanup records", async () => {
    const since = nowSeconds();
    const id = (await b.ok(['run', '-d', '--name', 'ev-exit', IMG, 'sh', '-c', 'exit 3'])).trim();
    // `run -d` has returned and nothing else here runs cleanup: only conmon's exit command can record the die
    const lines = await eventually(async () => {
      const l = await recorded(
        since,
        ['container=ev-exit'],
        '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.exitCode}}',
      );
      return l.some((x) => x.includes(' die ')) ? l : undefined;
    }, 'the die event');
    assert.deepEqual(lines, [
      `container create ${id} <no value>`,
      `container start ${id} <no value>`,
      `container die ${id} 3`,
    ]);

    const [json] = await recorded(since, ['container=ev-exit', 'event=die'], 'json');
    const e = JSON.parse(json!);
    assert.equal(e.Type, 'container');
    assert.equal(e.Action, 'die');
    assert.equal(e.scope, 'local');
    assert.deepEqual([e.status, e.id, e.from], ['die', id, IMG]);
    assert.equal(e.Actor.Attributes.name, 'ev-exit');
    assert.equal(e.Actor.Attributes.image, IMG);
    assert.equal(e.Actor.Attributes.exitCode, '3');
    assert.ok(Number.isInteger(e.time) && e.time === Math.floor(e.timeNano / 1e9));

    // the default line, as docker prints it
    const plain = await b.ok(['events', '--since', since, '--until', nowSeconds(), '--filter', 'event=die']);
    assert.match(
      plain,
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}(Z|[+-]\\d\\d:\\d\\d) container die ${id} \\(execDuration=\\d+, exitCode=3, image=${IMG}, name=ev-exit\\)\\n$`,
      ),
    );
    // a past --until ends the command by itself; bad input is refused before anything is read
    const bad = await b.run(['events', '--since', 'yesterday']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid --since "yesterday"/);
    assert.match((await b.run(['events', '--filter', 'kind=x'])).stderr, /invalid filter "kind"/);
  });

  test('a follower started before `run` sees its events live, and ends on SIGINT', async () => {
    const f = b.start([
      'events',
      '--format',
      '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.exitCode}}',
    ]);
    let out = '';
    f.child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      // the follower only shows what is recorded after it started: record probes until one shows
      let probe = 0;
      await eventually(async () => {
        const name = `ev-ready-${probe++}`;
        await b.ok(['volume', 'create', name]);
        const seen = Date.now() + 3000;
        while (Date.now() < seen && !out.includes('volume create'))
          await new Promise((r) => setTimeout(r, 50));
        return out.includes('volume create') ? true : undefined;
      }, 'the follower to show a probe volume');

      const run = await b.run(['run', '--rm', '--name', 'ev-live', IMG, 'sh', '-c', 'exit 5']);
      assert.equal(run.code, 5, run.stderr);
      const id = await eventually(
        async () => /^container destroy (\w+)/m.exec(out)?.[1],
        'the destroy event',
      );
      const mine = out.split('\n').filter((l) => l.includes(id));
      assert.deepEqual(mine, [
        `container create ${id} <no value>`,
        `container start ${id} <no value>`,
        `container die ${id} 5`,
        `container destroy ${id} <no value>`,
      ]);
    } finally {
      f.child.kill('SIGINT');
    }
    assert.equal(await f.closed, 0);
  });

  test('pause, unpause, rename, exec, stop, kill and rm, with their attributes; volume events', async () => {
    const since = nowSeconds();
    const id = (
      await b.ok([
        'run',
        '-d',
        '--name',
        'ev-life',
        '--label',
        'tier=web',
        '-v',
        'ev-vol:/data',
        IMG,
        'sh',
        '-c',
        'trap "exit 0" TERM; while true; do sleep 0.1; done',
      ])
    ).trim();
    await b.ok(['pause', 'ev-life']);
    await b.ok(['unpause', 'ev-life']);
    await b.ok(['rename', 'ev-life', 'ev-life2']);
    await b.ok(['exec', 'ev-life2', 'true']);
    await b.ok(['stop', 'ev-life2']);
    await b.ok(['start', 'ev-life2']);
    await b.ok(['kill', 'ev-life2']);
    await b.ok(['wait', 'ev-life2']);
    await b.ok(['rm', 'ev-life2']);

    const format =
      '{{.Action}}|{{.Actor.Attributes.name}}|{{.Actor.Attributes.signal}}|{{.Actor.Attributes.exitCode}}';
    const lines = (await recorded(since, [`container=${id.slice(0, 12)}`, 'label=tier=web'], format)).map(
      (l) => l.replaceAll('<no value>', ''),
    );
    const at = (line: string) => {
      const i = lines.indexOf(line);
      assert.ok(i >= 0, `${line} in\n${lines.join('\n')}`);
      return i;
    };
    const order = [
      'create|ev-life||',
      'start|ev-life||',
      'pause|ev-life||',
      'unpause|ev-life||',
      'rename|ev-life2||',
      'exec_create: true|ev-life2||',
      'exec_start: true|ev-life2||',
      'kill|ev-life2|15|',
      // the die may be recorded by conmon's cleanup, in another process, just after `stop`
      'start|ev-life2||',
      'kill|ev-life2|9|',
      'destroy|ev-life2||',
    ].map(at);
    assert.deepEqual(
      order,
      [...order].sort((x, y) => x - y),
      `in order:\n${lines.join('\n')}`,
    );
    assert.ok(at('exec_die|ev-life2||0') > order[6]!);
    assert.ok(at('die|ev-life2||0') > order[7]! && at('die|ev-life2||0') < order[8]!);
    assert.ok(at('stop|ev-life2||') > order[7]! && at('stop|ev-life2||') < order[8]!);
    assert.ok(at('die|ev-life2||137') > order[9]! && at('die|ev-life2||137') < order[10]!);
    assert.equal(lines.length, order.length + 4, lines.join('\n'));
    const renamed = await recorded(since, ['event=rename'], '{{.Actor.Attributes.oldName}}');
    assert.deepEqual(renamed, ['ev-life']);

    const volumes = await recorded(
      since,
      ['type=volume', 'volume=ev-vol'],
      '{{.Action}} {{.Actor.Attributes.container}}',
    );
    assert.deepEqual(volumes, [
      'create <no value>',
      `mount ${id}`,
      `unmount ${id}`,
      `mount ${id}`,
      `unmount ${id}`,
    ]);
  });

  test('restart records stop, die, start, then restart', async () => {
    const since = nowSeconds();
    const id = (
      await b.ok([
        'run',
        '-d',
        '--name',
        'ev-restart',
        IMG,
        'sh',
        '-c',
        'trap "exit 0" TERM; while true; do sleep 0.1; done',
      ])
    ).trim();
    await b.ok(['restart', '-t', '5', 'ev-restart']);
    await b.ok(['rm', '-f', 'ev-restart']);
    const lines = await recorded(since, [`container=${id.slice(0, 12)}`], '{{.Action}}');
    const restart = lines.indexOf('restart');
    assert.ok(restart > 0, lines.join('\n'));
    assert.equal(lines.filter((l) => l === 'restart').length, 1, lines.join('\n'));
    // the second start comes before the restart event, and the first die before that start
    const secondStart = lines.lastIndexOf('start', restart);
    assert.ok(secondStart > lines.indexOf('start'), lines.join('\n'));
    assert.ok(lines.indexOf('stop') < secondStart, lines.join('\n'));
  });

  test('image events: import, tag, untag, delete, save, load, build', async () => {
    const since = nowSeconds();
    await b.ok(['tag', IMG, 'local/ev:1']);
    const [inspect] = JSON.parse(await b.ok(['image', 'inspect', IMG]));
    await b.ok(['rmi', 'local/ev:1']);
    await b.ok(['import', join(work, 'rootfs.tar'), 'local/ev-del:1']);
    const [other] = JSON.parse(await b.ok(['image', 'inspect', 'local/ev-del:1']));
    await b.ok(['rmi', 'local/ev-del:1']);
    const lines = await recorded(
      since,
      ['type=image'],
      '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}',
    );
    assert.deepEqual(lines, [
      `tag ${inspect.Id} local/ev:1`,
      `untag ${inspect.Id} local/ev:1`,
      `import ${other.Id} local/ev-del:1`,
      `untag ${other.Id} local/ev-del:1`,
      `delete ${other.Id} <no value>`,
    ]);
    const imports = await recorded(
      '0',
      ['event=import', `image=${IMG}`],
      '{{.Actor.ID}} {{.Actor.Attributes.name}}',
    );
    assert.deepEqual(imports, [`${inspect.Id} ${IMG}`]);

    // save, load, and a build with a tag
    const since2 = nowSeconds();
    await b.ok(['save', '-o', join(work, 'saved.tar'), IMG]);
    await b.ok(['load', '-i', join(work, 'saved.tar')]);
    await b.ok(['build', '-q', '-t', 'local/ev-built:1', '-'], { input: `FROM ${IMG}\nLABEL ev=1\n` });
    const [built] = JSON.parse(await b.ok(['image', 'inspect', 'local/ev-built:1']));
    const more = await recorded(
      since2,
      ['type=image'],
      '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}',
    );
    assert.deepEqual(more, [
      `save ${inspect.Id} ${IMG}`,
      `load ${inspect.Id} ${IMG}`,
      `build ${built.Id} local/ev-built:1`,
      `tag ${built.Id} local/ev-built:1`,
    ]);

    // an image filter finds the containers that ran it, too
    const byImage = await recorded('0', [`image=${IMG}`, 'container=ev-exit'], '{{.Action}}');
    assert.deepEqual(byImage, ['create', 'start', 'die']);
  });
});
