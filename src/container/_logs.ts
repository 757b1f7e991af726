// A container's log as entries: read once, or followed until the container exits.
import { existsSync } from 'node:fs';
import { type LogEntry, readLogs } from '../runtime/index.js';

/**
 * The log at `path` (none yet: no entries). With `follow`, it is followed until `waitExit`
 * resolves (the container exited) or the caller's signal aborts.
 */
export function containerLog(
  path: string,
  options: { follow?: boolean; since?: Date; tail?: number; signal?: AbortSignal },
  waitExit: (signal: AbortSignal) => Promise<unknown>,
): AsyncIterable<LogEntry> {
  if (!existsSync(path)) return (async function* () {})();
  const ac = new AbortController();
  if (options.follow) {
    options.signal?.addEventListener('abort', () => ac.abort());
    waitExit(ac.signal)
      .catch(() => {})
      .finally(() => ac.abort());
  }
  return readLogs(path, {
    follow: options.follow === true,
    ...(options.since ? { since: options.since } : {}),
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
    signal: ac.signal,
  });
}
