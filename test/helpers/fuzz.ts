// Shared settings for the property-based (`*.fuzz.test.ts`) tests. Every property runs a bounded
// number of cases (BERTH_FUZZ_RUNS, default 300) under a wall-clock cap for the whole property
// and a per-case guard, and a failure names the seed and path so it can be replayed exactly:
//   BERTH_FUZZ_SEED=<seed> BERTH_FUZZ_PATH=<path> bash scripts/test.sh <file>
// The property every parser shares: bad input ends in a typed berth error (src/errors/), never
// a TypeError, RangeError or any other stray exception.
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { BerthError } from '../../src/errors/index.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${raw} is not an integer`);
  return n;
}

/** Cases per property. */
export const FUZZ_RUNS = envInt('BERTH_FUZZ_RUNS', 300);
/** Wall-clock cap for one property; cases left when it runs out are not run (and not failures). */
const PROPERTY_TIME_MS = envInt('BERTH_FUZZ_TIME_MS', 60_000);
/**
 * One case taking longer than this fails: far above what any case needs (milliseconds), so it
 * only catches runaway (super-linear or looping) work, not a slow machine.
 */
export const CASE_BUDGET_MS = envInt('BERTH_FUZZ_CASE_MS', 5_000);

/** The seed of this process's properties: BERTH_FUZZ_SEED to replay, else a fresh one. */
export const FUZZ_SEED = envInt('BERTH_FUZZ_SEED', (Date.now() ^ (Math.random() * 0x7fffffff)) | 0);
const FUZZ_PATH = process.env.BERTH_FUZZ_PATH || undefined;

/** What a stray (non-berth) exception looks like in a failure message. */
function describeStray(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${err.stack ?? ''}`;
  return `non-Error thrown: ${String(err)}`;
}

class StrayError extends Error {
  constructor(what: string, err: unknown) {
    super(`${what} threw something other than a berth error: ${describeStray(err)}`, { cause: err });
  }
}

class BudgetError extends Error {}

function checkBudget(what: string, started: number): void {
  const took = performance.now() - started;
  if (took > CASE_BUDGET_MS) {
    throw new BudgetError(`${what} took ${Math.round(took)} ms on one case (budget ${CASE_BUDGET_MS} ms)`);
  }
}

/**
 * Runs `fn`; returns its result, or undefined if it threw a berth error. Anything else thrown,
 * or a run over the per-case budget, fails the property.
 */
export function onlyBerthErrors<T>(what: string, fn: () => T): T | undefined {
  const started = performance.now();
  try {
    return fn();
  } catch (err) {
    if (err instanceof BerthError) return undefined;
    throw new StrayError(what, err);
  } finally {
    checkBudget(what, started);
  }
}

export async function onlyBerthErrorsAsync<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  const started = performance.now();
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BerthError) return undefined;
    throw new StrayError(what, err);
  } finally {
    checkBudget(what, started);
  }
}

function parameters<Ts>(): fc.Parameters<Ts> {
  return {
    numRuns: FUZZ_RUNS,
    includeErrorInReport: true,
    seed: FUZZ_SEED,
    ...(FUZZ_PATH === undefined ? {} : { path: FUZZ_PATH }),
    plugins: [fc.interruptAfterTimeLimit(PROPERTY_TIME_MS)],
  };
}

function report<Ts>(t: TestContext, details: fc.RunDetails<Ts>): void {
  t.diagnostic(
    `fuzz seed=${details.seed} runs=${details.numRuns}${details.interrupted ? ' (time cap hit)' : ''}`,
  );
  if (!details.failed) return;
  const message = fc.defaultReportMessage(details) ?? 'property failed';
  const replay =
    `replay: BERTH_FUZZ_SEED=${details.seed}` +
    (details.counterexamplePath ? ` BERTH_FUZZ_PATH=${details.counterexamplePath}` : '');
  throw new Error(`${message}\n${replay}`, { cause: details.errorInstance });
}

/** Checks a synchronous property with the shared bounds; fails the test with seed and path. */
export function fuzz<Ts>(t: TestContext, property: fc.IProperty<Ts>): void {
  report(t, fc.check(property, parameters<Ts>()));
}

/** The async twin of `fuzz`. */
export async function fuzzAsync<Ts>(t: TestContext, property: fc.IAsyncProperty<Ts>): Promise<void> {
  report(t, await fc.check(property, parameters<Ts>()));
}

/** Strings of `alphabet` pieces only. */
export function stringOf(alphabet: string[], maxLength = 200): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...alphabet), maxLength });
}

/** Strings drawn mostly from `alphabet` (the characters a grammar cares about), sometimes anything. */
export function stringFrom(alphabet: string[], maxLength = 200): fc.Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...alphabet) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  return fc.string({ unit, maxLength });
}
