// `docker run -it` and `docker exec -it` against `berth system service` through a real pty:
// each docker client runs in a tmux window (a private tmux server), the test types into it and
// reads the screen: the command's output appears, `stty size` inside follows the window when
// it is resized, and the exit code of the shell is the docker command's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon', 'tmux']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-tty-it-'));
const b = new Berth();
const IMG = 'local/bb:apitty';
const api = new ApiService(b, work);
const TMUX_SOCKET = join(work, 'tmux.sock');

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-S', TMUX_SOCKET, ...args], { encoding: 'utf8' });
}

/** The visible text of a window. */
function screen(window: string): string {
  return tmux('capture-pane', '-p', '-t', window);
}

/** Runs `argv` in a new tmux window of the given size; its exit code lands in `<work>/<window>.rc`. */
function openWindow(window: string, argv: string[], size: { cols: number; rows: number }): string {
  const rc = join(work, `${window}.rc`);
  const env = `DOCKER_HOST=unix://${api.sock} DOCKER_CONFIG=${join(work, 'docker-config')}`;
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const command = `env ${env} ${quoted}; echo $? > ${rc}; sleep 600`;
  // one session per window: tmux 3.3 crashes on new-window into a manually sized session
  tmux('new-session', '-d', '-s', window, '-x', String(size.cols), '-y', String(size.rows), command);
  tmux('set-option', '-g', 'status', 'off');
  tmux('resize-window', '-t', window, '-x', String(size.cols), '-y', String(size.rows));
  return rc;
}

/**
 * Types `line` and waits for `expect` on the screen. A resize reaches the container through
 * the client's own request, which may land after the line ran: the line is typed again (after
 * `clear`) until the screen shows it, up to a deadline.
 */
async function typeAndSee(window: string, line: string, expect: RegExp): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    tmux('send-keys', '-t', window, '-l', line);
    tmux('send-keys', '-t', window, 'Enter');
    const seen = await waitFor(() => expect.exec(screen(window))?.[0], { timeoutMs: 1_000 }).catch(
      () => undefined,
    );
    if (seen !== undefined) return seen;
    if (Date.now() > deadline) {
      throw new Error(`${expect} never showed on ${window}:\n${screen(window)}\nservice: ${api.log}`);
    }
  }
}

/** `stty size` inside follows a resize of the window, twice, then `exit 7` is the client's code. */
async function driveShell(window: string, rc: string): Promise<void> {
  await typeAndSee(window, 'echo ready-$((40+2))', /ready-42/);
  await typeAndSee(window, 'stty size', /^30 100\s*$/m);
  tmux('resize-window', '-t', window, '-x', '120', '-y', '40');
  await typeAndSee(window, 'clear; stty size', /^40 120\s*$/m);
  tmux('resize-window', '-t', window, '-x', '90', '-y', '25');
  await typeAndSee(window, 'clear; stty size', /^25 90\s*$/m);
  tmux('send-keys', '-t', window, '-l', 'exit 7');
  tmux('send-keys', '-t', window, 'Enter');
  const code = await waitFor(() => existsSync(rc) && readFileSync(rc, 'utf8').trim(), {
    what: `the docker client in ${window} to exit`,
  });
  assert.equal(code, '7');
}

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  await api.start();
});

after(async () => {
  try {
    if (existsSync(TMUX_SOCKET)) tmux('kill-server');
  } catch {
    // no server left
  }
  await api.stop();
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('docker run -it and exec -it in a real terminal (tmux)', { skip }, () => {
  for (const [n, client] of DOCKER_CLIENTS.entries()) {
    test(`${client} run -it: typed commands, resizes, exit code`, async () => {
      const window = `run${n}`;
      const rc = openWindow(window, [client, 'run', '-it', '--rm', '--name', `tty-run-${n}`, IMG, 'sh'], {
        cols: 100,
        rows: 30,
      });
      await driveShell(window, rc);
    });

    test(`${client} exec -it: typed commands, resizes, exit code`, async () => {
      const name = `tty-exec-${n}`;
      await api.dockerOk(client, ['run', '-d', '--name', name, IMG, 'sleep', '600']);
      const window = `exec${n}`;
      const rc = openWindow(window, [client, 'exec', '-it', name, 'sh'], { cols: 100, rows: 30 });
      await driveShell(window, rc);
      await api.dockerOk(client, ['rm', '-f', name]);
    });
  }
});
