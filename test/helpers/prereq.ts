// Test prerequisites (root, runc, crun, conmon, gcc...). Off CI a test that lacks one is skipped
// with the reason; under CI=true the same lack FAILS the run, because CI promises these are
// installed and a suite that silently skips proves nothing (the security suite above all).
// .ci/run exports CI=true; GitHub Actions and most other CI services set it themselves.
import { spawnSync } from 'node:child_process';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export class MissingPrerequisiteError extends Error {
  constructor(what: string) {
    super(`CI=true but this test's prerequisite is missing: ${what}`);
  }
}

/** Is `name` an executable on PATH? */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name]).status === 0;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * True when `ok`. Otherwise: under CI, throws (the test fails); elsewhere, marks the test
 * skipped with "needs <what>" and returns false, so the caller returns at once.
 */
export function requireOrSkip(t: { skip(message?: string): void }, what: string, ok: boolean): boolean {
  if (ok) return true;
  if (IN_CI) throw new MissingPrerequisiteError(what);
  t.skip(`needs ${what}`);
  return false;
}

/**
 * For `describe`/`test`'s `skip` option: false when `ok`, else the reason. Under CI a missing
 * prerequisite throws when the test file loads, which fails the file and so the run.
 */
export function skipUnless(what: string, ok: boolean): false | string {
  if (ok) return false;
  if (IN_CI) throw new MissingPrerequisiteError(what);
  return `needs ${what}`;
}

/**
 * For a test that runs either way but checks less without the prerequisite: under CI a missing
 * one throws; elsewhere the test notes what it left out and goes on. Returns `ok`.
 */
export function checksLessWithout(
  t: { diagnostic(message: string): void },
  what: string,
  ok: boolean,
): boolean {
  if (ok) return true;
  if (IN_CI) throw new MissingPrerequisiteError(what);
  t.diagnostic(`without ${what} some checks of this test are left out`);
  return false;
}

/** The missing ones among root and the given commands, as one phrase, or undefined. */
export function missing(options: { root?: boolean; commands?: string[] }): string | undefined {
  const lacks: string[] = [];
  if (options.root && !isRoot()) lacks.push('root');
  for (const c of options.commands ?? []) if (!hasCommand(c)) lacks.push(c);
  return lacks.length ? lacks.join(', ') : undefined;
}
