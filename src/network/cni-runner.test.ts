// The conflist runner against fake plugins (shell scripts) that record what they were given:
// order, environment, prevResult, runtimeConfig; and the bounds (timeout, output size).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CniAttachment, CniPluginError, cniAdd, cniCheck, cniDel, readCacheEntry } from './_cni.js';
import type { CniConflist } from './_conflist.js';

/** A plugin that logs "$CNI_COMMAND <type> <stdin>" and answers with a result naming itself. */
function fakePlugins(t: { after(fn: () => void): void }): { dir: string; log: () => string[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fakecni-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'log');
  writeFileSync(logFile, '');
  for (const type of ['one', 'two']) {
    const p = join(dir, type);
    writeFileSync(
      p,
      `#!/bin/sh
in=$(cat)
printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$CNI_COMMAND" "${type}" "$CNI_CONTAINERID $CNI_NETNS $CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" "$in" >> ${logFile}
[ "$CNI_COMMAND" = ADD ] && printf '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}],"by":"${type}"}'
exit 0
`,
    );
    chmodSync(p, 0o755);
  }
  for (const [type, body] of [
    [
      'fails',
      `cat >/dev/null; printf '{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"no bridge"}'; exit 1`,
    ],
    ['slow', 'cat >/dev/null; exec sleep 30'],
    ['chatty', "cat >/dev/null; yes '{}' | head -c 5000000; exit 0"],
    ['garbage', "cat >/dev/null; echo 'not json'; exit 0"],
  ] as const) {
    writeFileSync(join(dir, type), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, type), 0o755);
  }
  return {
    dir,
    log: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l)
        .map((l) => l.split('\t')),
  };
}

const list = (...types: string[]): CniConflist => ({
  cniVersion: '1.0.0',
  name: 'fake',
  plugins: types.map((type) => ({ type, capabilities: { portMappings: true, other: true }, own: type })),
});

test('ADD chains prevResult in order; DEL runs in reverse with the cached result; CHECK in order', async (t) => {
  const { dir, log } = fakePlugins(t);
  const attachment: CniAttachment = {
    containerId: 'c1',
    netns: '/run/x/ns',
    ifname: 'eth0',
    args: { IgnoreUnknown: '1', IP: '10.0.0.9' },
    capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
    cacheFile: join(dir, 'cache.json'),
  };
  const result = await cniAdd(list('one', 'two'), attachment, { pluginDirs: [dir] });
  assert.equal(result.by, 'two');
  await cniCheck(list('one', 'two'), attachment, { pluginDirs: [dir] });
  await cniDel(list('one', 'two'), attachment, { pluginDirs: [dir] });
  const entries = log();
  assert.deepEqual(
    entries.map((e) => `${e[0]} ${e[1]}`),
    ['ADD one', 'ADD two', 'CHECK one', 'CHECK two', 'DEL two', 'DEL one'],
  );
  for (const e of entries) {
    assert.equal(e[2], 'c1 /run/x/ns eth0');
    assert.equal(e[3], 'IgnoreUnknown=1;IP=10.0.0.9');
    assert.equal(e[4], dir);
  }
  const inputs = entries.map((e) => JSON.parse(e[5]!) as Record<string, unknown>);
  assert.equal(inputs[0]!.name, 'fake');
  assert.equal(inputs[0]!.cniVersion, '1.0.0');
  assert.equal(inputs[0]!.capabilities, undefined);
  assert.deepEqual(inputs[0]!.runtimeConfig, { portMappings: attachment.capabilityArgs!.portMappings });
  assert.equal(inputs[0]!.prevResult, undefined);
  assert.equal((inputs[1]!.prevResult as { by: string }).by, 'one');
  for (const i of inputs.slice(2)) assert.equal((i.prevResult as { by: string }).by, 'two');
  // DEL without a cache (already deleted) still runs every plugin, with no prevResult.
  await cniDel(list('one', 'two'), attachment, { pluginDirs: [dir] });
  assert.equal(
    log()
      .slice(-2)
      .every((e) => JSON.parse(e[5]!).prevResult === undefined),
    true,
  );
});

test('a failing plugin undoes the ones before it and names itself', async (t) => {
  const { dir, log } = fakePlugins(t);
  const attachment: CniAttachment = {
    containerId: 'c2',
    netns: '/n',
    ifname: 'eth0',
    cacheFile: join(dir, 'c2'),
  };
  await assert.rejects(cniAdd(list('one', 'fails'), attachment, { pluginDirs: [dir] }), (e: unknown) => {
    assert.ok(e instanceof CniPluginError);
    assert.equal(e.plugin, 'fails');
    assert.equal(e.cniCode, 7);
    assert.equal(e.details, 'no bridge');
    assert.equal(e.message, 'CNI plugin "fails" failed on ADD: bad config: no bridge');
    return true;
  });
  assert.deepEqual(
    log().map((e) => `${e[0]} ${e[1]}`),
    ['ADD one', 'DEL one'],
  );
});

test('a plugin call is bounded in time and output, and must answer with JSON', async (t) => {
  const { dir } = fakePlugins(t);
  const attachment: CniAttachment = {
    containerId: 'c3',
    netns: '/n',
    ifname: 'eth0',
    cacheFile: join(dir, 'c3'),
  };
  await assert.rejects(
    cniAdd(list('slow'), attachment, { pluginDirs: [dir], timeoutMs: 300 }),
    /"slow" failed on ADD: timed out/,
  );
  await assert.rejects(
    cniAdd(list('chatty'), attachment, { pluginDirs: [dir], maxOutputBytes: 4096 }),
    /"chatty" failed on ADD: wrote more than 4096 bytes/,
  );
  await assert.rejects(
    cniAdd(list('garbage'), attachment, { pluginDirs: [dir] }),
    /"garbage" failed on ADD: answered with invalid JSON/,
  );
  await assert.rejects(
    cniAdd(list('one'), { ...attachment, ifname: 'eth0;rm' }, { pluginDirs: [dir] }),
    /invalid interface name/,
  );
  await assert.rejects(
    cniAdd(list('one'), { ...attachment, args: { IP: '1.2.3.4;X=y' } }, { pluginDirs: [dir] }),
    /invalid CNI argument/,
  );
});

test('the cache records the attachment before ADD runs, so a killed ADD can be undone', async (t) => {
  const { dir } = fakePlugins(t);
  const cacheFile = join(dir, 'c4');
  writeFileSync(join(dir, 'peek'), `#!/bin/sh\ncat >/dev/null; cp ${cacheFile} ${cacheFile}.seen; exit 1\n`);
  chmodSync(join(dir, 'peek'), 0o755);
  const attachment: CniAttachment = {
    containerId: 'c4',
    netns: '/n',
    ifname: 'eth1',
    args: { A: 'b' },
    cacheFile,
  };
  await assert.rejects(
    cniAdd(list('one', 'peek'), attachment, { pluginDirs: [dir] }),
    /"peek" failed on ADD/,
  );
  const seen = readCacheEntry(`${cacheFile}.seen`);
  assert.deepEqual(seen, {
    kind: 'cniCacheV1',
    network: 'fake',
    containerId: 'c4',
    ifname: 'eth1',
    netns: '/n',
    args: { A: 'b' },
    capabilityArgs: {},
    // the conflist itself, so DEL works after the network file is gone
    config: list('one', 'peek'),
  });
  // The failed ADD was undone, and its record dropped.
  assert.equal(readCacheEntry(cacheFile), undefined);
  writeFileSync(cacheFile, '{"kind":"cniCacheV1","netw');
  assert.equal(readCacheEntry(cacheFile), undefined);
});
