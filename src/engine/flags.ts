// The docker flag parsers, for front ends that turn text into engine options.
export {
  parseBytes,
  parseCpus,
  parseEnvFile,
  parseEnvFlag,
  parseInteger,
  parseMountFlag,
  parseRestartPolicy,
  parseSignal,
  parseSwap,
  parseTmpfsFlag,
  parseUlimit,
  parseVolumeFlag,
  signalName,
} from '../container/index.js';
