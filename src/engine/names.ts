// Name helpers front ends need to print what the engine returns.
import { familiarTag as familiar } from '../image/index.js';

/** `docker.io/library/alpine:3` → `alpine:3`, as docker prints names. */
export function familiarTag(name: string): string {
  return familiar(name);
}
