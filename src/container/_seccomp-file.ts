// `--security-opt seccomp=FILE`: the profile read once, bounded, and checked at create.
import { closeSync, openSync, readSync } from 'node:fs';
import { hasCode, InvalidArgumentError, SizeLimitError } from '../errors/index.js';
import { seccompFromDockerProfile } from '../runtime/index.js';
import type { ContainerCreateOptions } from './_config.js';

/** Seccomp profiles larger than this are refused (Docker's default profile is about 20 KiB). */
const MAX_SECCOMP_PROFILE_BYTES = 1024 * 1024;

/**
 * The `--security-opt seccomp=FILE` profile as content: read (bounded) and checked now, so the
 * container keeps what the file said at create. Anything else passes through unchanged.
 */
export function readSeccompProfile(
  choice: ContainerCreateOptions['seccomp'],
): { file?: string; profile: unknown } | undefined {
  if (!choice || typeof choice !== 'object') return undefined;
  if (choice.profile !== undefined) {
    seccompFromDockerProfile(choice.profile, []);
    return { ...(choice.file !== undefined ? { file: choice.file } : {}), profile: choice.profile };
  }
  const file = choice.file;
  if (file === undefined)
    throw new InvalidArgumentError('seccomp profile: neither a file nor a profile given');
  let text: string;
  try {
    text = readBounded(file, MAX_SECCOMP_PROFILE_BYTES);
  } catch (err) {
    if (hasCode(err, 'SIZE_LIMIT')) throw err;
    throw new InvalidArgumentError(`cannot read seccomp profile "${file}"`, { cause: err });
  }
  let profile: unknown;
  try {
    profile = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`seccomp profile "${file}" is not valid JSON`, { cause: err });
  }
  // a bad profile fails the create, not every later start
  seccompFromDockerProfile(profile, []);
  return { file, profile };
}

/** A whole file, failing past `limit` bytes without reading more (the path may be a pipe). */
function readBounded(path: string, limit: number): string {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) {
        throw new SizeLimitError(`seccomp profile "${path}" is over the ${limit}-byte limit`);
      }
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
