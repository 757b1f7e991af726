import type { IncomingMessage } from 'node:http';
import {
  type BerthError,
  DeniedError,
  InterruptedError,
  IOError,
  isBerthError,
  NetworkError,
  NotFoundError,
  RegistryError,
  UnauthorizedError,
} from '../errors/index.js';
import {
  BodySourceError,
  isAbortError,
  isCertificateError,
  MAX_ERROR_BODY_BYTES,
  oneLine,
  readTruncated,
} from './_http.js';

const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN']);

export interface RegistryErrorBody {
  codes: string[];
  /** One line: `manifest unknown (MANIFEST_UNKNOWN); …`. */
  text: string;
}

/** The distribution spec's `{"errors":[{"code","message","detail"}]}`, as one line. */
export function parseErrorBody(body: Buffer): RegistryErrorBody | undefined {
  if (body.length === 0) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const errors = (doc as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const codes: string[] = [];
  const parts: string[] = [];
  for (const e of errors.slice(0, 10)) {
    if (typeof e !== 'object' || e === null) continue;
    const { code, message, detail } = e as { code?: unknown; message?: unknown; detail?: unknown };
    const c = typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
    let text = typeof message === 'string' && message.trim() !== '' ? oneLine(message, 200) : undefined;
    if (text === undefined && c) text = c.toLowerCase().replace(/_/g, ' ');
    if (typeof detail === 'string' && detail.trim() !== '' && detail.length <= 200)
      text = `${text ?? 'error'}: ${oneLine(detail, 200)}`;
    if (text === undefined) continue;
    if (c) codes.push(c);
    const part = c ? `${text} (${c})` : text;
    if (!parts.includes(part)) parts.push(part);
  }
  if (parts.length === 0) return undefined;
  return { codes, text: oneLine(parts.join('; '), 500) };
}

/** What a failed response means, as the right error class; reads (and discards) the body. */
export async function errorFromResponse(
  res: IncomingMessage,
  what: string,
  options: { host?: string; hadCredentials?: boolean } = {},
): Promise<BerthError> {
  const body = await readTruncated(res, MAX_ERROR_BODY_BYTES);
  return errorFromBody(res, body, what, options);
}

/** errorFromResponse for a body already read. */
export function errorFromBody(
  res: IncomingMessage,
  body: Buffer,
  what: string,
  options: { host?: string; hadCredentials?: boolean } = {},
): BerthError {
  const status = res.statusCode ?? 0;
  const parsed = parseErrorBody(body);
  const detail =
    parsed?.text ?? `HTTP ${status}${res.statusMessage ? ` ${oneLine(res.statusMessage, 60)}` : ''}`;
  return errorForStatus(status, `cannot ${what}: ${detail}`, parsed?.codes ?? [], options);
}

export function errorForStatus(
  status: number,
  message: string,
  codes: string[],
  options: { host?: string; hadCredentials?: boolean } = {},
): BerthError {
  if (status === 401) {
    const hint = options.host
      ? options.hadCredentials
        ? `check the credentials stored for ${options.host} ("berth login ${options.host}")`
        : `run "berth login ${options.host}"`
      : undefined;
    return new UnauthorizedError(message, hint ? { hint } : {});
  }
  if (status === 403) return new DeniedError(message);
  if (status === 404 && (codes.length === 0 || codes.some((c) => NOT_FOUND_CODES.has(c)))) {
    return new NotFoundError(message);
  }
  return new RegistryError(message, { status });
}

/** Turn whatever a request threw into a berth error that names the operation. */
export function wrapFailure(err: unknown, what: string): BerthError {
  if (isBerthError(err)) return err;
  if (isAbortError(err)) return new InterruptedError(`cannot ${what}: aborted`, { cause: err });
  if (err instanceof BodySourceError) {
    if (isBerthError(err.cause)) return err.cause;
    return new IOError(`cannot ${what}: reading the content failed: ${oneLine(err.message, 200)}`, {
      cause: err,
    });
  }
  const msg = err instanceof Error ? oneLine(err.message, 200) : oneLine(String(err), 200);
  if (isCertificateError(err)) {
    return new NetworkError(`cannot ${what}: TLS certificate not accepted: ${msg}`, {
      cause: err,
      hint: 'trust the CA system-wide, or mark the registry insecure (tls-verify=false) if you accept the risk',
    });
  }
  return new NetworkError(`cannot ${what}: ${msg}`, { cause: err });
}
