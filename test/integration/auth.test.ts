// login / logout / pull against real registries with htpasswd basic auth and bearer tokens.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxLayout } from '../helpers/images.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

const work = mkdtempSync(join(tmpdir(), 'berth-auth-it-'));
let layoutDir: string;

before(async () => {
  layoutDir = (await makeBusyboxLayout(join(work, 'bb'), { tag: 'latest' })).layoutDir;
});
after(() => rmSync(work, { recursive: true, force: true }));

for (const mode of ['basic', 'token'] as const) {
  describe(`${mode} auth`, () => {
    let reg: TestRegistry;
    const b = new Berth();
    const authFile = join(work, `auth-${mode}.json`);
    before(async () => {
      reg = await startRegistry({ auth: mode });
      await skopeoCopy(`oci:${layoutDir}:latest`, `docker://${reg.host}/private/bb:latest`, {
        destCreds: `${reg.username}:${reg.password}`,
      });
    });
    after(async () => {
      await reg.stop();
      b.cleanup();
    });

    test('pull without credentials is refused with one readable line', async () => {
      const r = await b.run(['pull', '--authfile', authFile, `${reg.host}/private/bb:latest`]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /unauthorized|authentication required/i);
    });

    test('login with a wrong password fails and stores nothing', async () => {
      const r = await b.run(
        ['login', '--authfile', authFile, '-u', reg.username!, '--password-stdin', reg.host],
        {
          input: 'wrong-password\n',
        },
      );
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.stderr + r.stdout, /wrong-password/);
      assert.throws(() => statSync(authFile));
    });

    test('login stores credentials in config.json (0600); pull works; nothing prints the password', async () => {
      const out = await b.ok(
        ['login', '--authfile', authFile, '-u', reg.username!, '--password-stdin', reg.host],
        {
          input: `${reg.password}\n`,
        },
      );
      assert.match(out, /Login Succeeded/);
      assert.equal(statSync(authFile).mode & 0o777, 0o600);
      const cfg = JSON.parse(readFileSync(authFile, 'utf8'));
      assert.equal(
        Buffer.from(cfg.auths[reg.host].auth, 'base64').toString('utf8'),
        `${reg.username}:${reg.password}`,
      );
      const pull = await b.run(['pull', '--authfile', authFile, `${reg.host}/private/bb:latest`]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.ok(!(pull.stdout + pull.stderr).includes(reg.password!));
      // REGISTRY_AUTH_FILE is honoured as well as --authfile
      await b.ok(['rmi', `${reg.host}/private/bb:latest`]);
      await b.ok(['pull', '-q', `${reg.host}/private/bb:latest`], { env: { REGISTRY_AUTH_FILE: authFile } });
    });

    test('logout removes the entry and pull is refused again', async () => {
      const out = await b.ok(['logout', '--authfile', authFile, reg.host]);
      assert.match(out, /Removing login credentials/);
      const cfg = JSON.parse(readFileSync(authFile, 'utf8'));
      assert.equal(cfg.auths?.[reg.host], undefined);
      const r = await b.run(['pull', '--authfile', authFile, `${reg.host}/private/bb:latest`]);
      assert.equal(r.code, 1);
    });
  });
}
