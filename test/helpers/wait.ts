// Waiting for a condition in tests: poll it until it holds or a deadline passes. Tests never
// sleep a fixed time and hope; they wait for the thing they need (a file, a log line, a state).
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
