// Waiting for a condition in tests: poll it until it holds or a deadline passes. Tests never
// sleep a fixed time and hope; they wait for the thing they need (a file, a log line, a state).
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long (default 30 s: generous, since a slow CI machine is not a bug). */
  timeoutMs?: number;
  /** Pause between checks (default 20 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message: "the container to start". */
  what?: string;
}

/**
 * Calls `check` until it returns something other than undefined/false, and returns that value.
 * Throws, naming `what` and the last error `check` threw (if any), when the deadline passes.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 20, what = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: last check threw ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

/** Waits until `text()` contains `needle` (a log line, a marker printed by a child). */
export function waitForText(
  text: () => string,
  needle: string | RegExp,
  options: WaitOptions = {},
): Promise<true> {
  const found = () => (typeof needle === 'string' ? text().includes(needle) : needle.test(text()));
  return waitFor(found, { what: `${JSON.stringify(String(needle))} in the output`, ...options });
}

/** How many processes (other than this one) have `text` in their command line. */
export function processesNaming(text: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(text)) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/** What `killWhen` saw: whether the SIGKILL reached the process while it was still working. */
export interface KillOutcome {
  /** The marker held and the process was still running when SIGKILL was sent, and it died of it. */
  landed: boolean;
}

/**
 * SIGKILLs `child` as soon as `marker()` holds, proving the kill lands in the middle of its work
 * rather than before it began. Polls every `intervalMs` (default 2 ms). If the process exits
 * before the marker shows, or between marker and kill, `landed` is false.
 */
export async function killWhen(
  started: { child: ChildProcess; closed: Promise<unknown> },
  marker: () => boolean,
  options: WaitOptions = {},
): Promise<KillOutcome> {
  const { child, closed } = started;
  await waitFor(() => child.exitCode !== null || child.signalCode !== null || marker(), {
    intervalMs: 2,
    ...options,
  });
  const running = child.exitCode === null && child.signalCode === null;
  if (running) child.kill('SIGKILL');
  await closed;
  return { landed: running && child.signalCode === 'SIGKILL' };
}
