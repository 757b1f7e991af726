// errors/: the closed set of berth error classes. Every failure carries a stable `code`,
// an optional `hint`, and a `cause`; the two tables below map codes to CLI exit codes and
// HTTP statuses, so front ends never guess.

export type ErrorCode =
  | 'USAGE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_REFERENCE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'ALREADY_EXISTS'
  | 'DIGEST_MISMATCH'
  | 'SIZE_LIMIT'
  | 'INVALID_MANIFEST'
  | 'UNSUPPORTED'
  | 'UNSAFE_PATH'
  | 'REGISTRY'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'NETWORK'
  | 'IO'
  | 'LOCKED'
  | 'INTERRUPTED'
  | 'RUNTIME'
  | 'BUILD_FAILED'
  | 'INTERNAL';

export interface BerthErrorOptions {
  cause?: unknown;
  hint?: string;
}

export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.name = new.target.name;
  }
}

/** Bad command line: unknown flag, wrong argument count. */
export class UsageError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('USAGE', message, options);
  }
}
/** A value given by the user or a peer is malformed. */
export class InvalidArgumentError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, options);
  }
}
export class InvalidReferenceError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('INVALID_REFERENCE', message, options);
  }
}
export class NotFoundError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}
/** The object exists but its state forbids the operation (e.g. image in use). */
export class ConflictError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('CONFLICT', message, options);
  }
}
export class AlreadyExistsError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('ALREADY_EXISTS', message, options);
  }
}
/** Content did not hash to the digest that was asked for. */
export class DigestMismatchError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('DIGEST_MISMATCH', message, options);
  }
}
/** A document or stream is larger than berth accepts, or shorter/longer than declared. */
export class SizeLimitError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('SIZE_LIMIT', message, options);
  }
}
/** A manifest, index, config or archive index is malformed or self-contradictory. */
export class InvalidManifestError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('INVALID_MANIFEST', message, options);
  }
}
export class UnsupportedError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('UNSUPPORTED', message, options);
  }
}
/** A path from untrusted input would escape its root (.., absolute, symlink, hardlink). */
export class UnsafePathError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('UNSAFE_PATH', message, options);
  }
}
/** The registry answered with an error (4xx/5xx) that has no more specific class. */
export class RegistryError extends BerthError {
  readonly status: number | undefined;
  constructor(message: string, options: BerthErrorOptions & { status?: number } = {}) {
    super('REGISTRY', message, options);
    this.status = options.status;
  }
}
export class UnauthorizedError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('UNAUTHORIZED', message, options);
  }
}
export class DeniedError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('DENIED', message, options);
  }
}
export class NetworkError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('NETWORK', message, options);
  }
}
export class IOError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('IO', message, options);
  }
}
export class LockedError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('LOCKED', message, options);
  }
}
export class InterruptedError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('INTERRUPTED', message, options);
  }
}
export class RuntimeError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('RUNTIME', message, options);
  }
}
/** A build step (a RUN command, a COPY) failed; the message names the step. */
export class BuildFailedError extends BerthError {
  /** The RUN command's exit code, when a command failed. */
  readonly exitCode: number | undefined;
  constructor(message: string, options: BerthErrorOptions & { exitCode?: number } = {}) {
    super('BUILD_FAILED', message, options);
    this.exitCode = options.exitCode;
  }
}
export class InternalError extends BerthError {
  constructor(message: string, options: BerthErrorOptions = {}) {
    super('INTERNAL', message, options);
  }
}

/**
 * Exit codes follow the docker CLI: 125 for flag/usage errors and engine failures of
 * `run`-family commands, 1 for an operation that failed.
 */
const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 125,
  INVALID_ARGUMENT: 1,
  INVALID_REFERENCE: 125,
  NOT_FOUND: 1,
  CONFLICT: 1,
  ALREADY_EXISTS: 1,
  DIGEST_MISMATCH: 1,
  SIZE_LIMIT: 1,
  INVALID_MANIFEST: 1,
  UNSUPPORTED: 1,
  UNSAFE_PATH: 1,
  REGISTRY: 1,
  UNAUTHORIZED: 1,
  DENIED: 1,
  NETWORK: 1,
  IO: 1,
  LOCKED: 1,
  INTERRUPTED: 130,
  RUNTIME: 125,
  BUILD_FAILED: 1,
  INTERNAL: 125,
};

const HTTP_STATUSES: Record<ErrorCode, number> = {
  USAGE: 400,
  INVALID_ARGUMENT: 400,
  INVALID_REFERENCE: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  DIGEST_MISMATCH: 400,
  SIZE_LIMIT: 413,
  INVALID_MANIFEST: 400,
  UNSUPPORTED: 501,
  UNSAFE_PATH: 400,
  REGISTRY: 502,
  UNAUTHORIZED: 401,
  DENIED: 403,
  NETWORK: 502,
  IO: 500,
  LOCKED: 409,
  INTERRUPTED: 500,
  RUNTIME: 500,
  BUILD_FAILED: 500,
  INTERNAL: 500,
};

export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError;
}

/** True when `err` is a BerthError with one of the given codes. */
export function hasCode(err: unknown, ...codes: ErrorCode[]): err is BerthError {
  return err instanceof BerthError && codes.includes(err.code);
}

export function exitCodeFor(err: unknown): number {
  return err instanceof BerthError ? EXIT_CODES[err.code] : 125;
}

export function httpStatusFor(err: unknown): number {
  return err instanceof BerthError ? HTTP_STATUSES[err.code] : 500;
}

/** The errno code of a Node system error, if any ('ENOENT', 'EEXIST', ...). */
export function errnoCode(err: unknown): string | undefined {
  if (
    err &&
    typeof err === 'object' &&
    'code' in err &&
    typeof (err as { code: unknown }).code === 'string'
  ) {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** One readable line for a user: the message, then each distinct cause message. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ');
}
