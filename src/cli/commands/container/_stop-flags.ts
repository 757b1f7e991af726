import { flags as parse } from '../../../engine/index.js';
import { type FlagSpec, type FlagValues, str } from '../../args.js';

/** `stop`/`restart -t`: seconds before SIGKILL. */
export const STOP_TIME_FLAG: FlagSpec = {
  name: 'time',
  short: 't',
  type: 'string',
  value: 'int',
  description: 'Seconds to wait before killing the container',
};

/** The value of STOP_TIME_FLAG: seconds, or undefined for the container's own stop timeout. */
export function stopTimeout(flags: FlagValues): number | undefined {
  const t = str(flags, 'time');
  return t === undefined ? undefined : parse.parseInteger(t, '--time', { min: 0 });
}
