// The docker flag parsers, for front ends that turn text into engine options. Each one checks
// its text and throws InvalidArgumentError naming the flag; the rules live in container/.
import * as rules from '../container/index.js';

type MountSpec = ReturnType<typeof rules.parseVolumeFlag>;
type RestartPolicy = ReturnType<typeof rules.parseRestartPolicy>;
type Ulimit = ReturnType<typeof rules.parseUlimit>;

/** `512m`, `1g`, `100k` → bytes. */
export function parseBytes(text: string, flag: string): number {
  return rules.parseBytes(text, flag);
}

/** `--memory-swap`: bytes, or -1 for unlimited. */
export function parseSwap(text: string): number {
  return rules.parseSwap(text);
}

/** `--cpus 1.5` → a CFS quota over a period. */
export function parseCpus(text: string): { quota: number; period: number } {
  return rules.parseCpus(text);
}

export function parseInteger(
  text: string,
  flag: string,
  options: { min?: number; max?: number } = {},
): number {
  return rules.parseInteger(text, flag, options);
}

/** `nofile=1024:2048`. */
export function parseUlimit(text: string): Ulimit {
  return rules.parseUlimit(text);
}

/** `no`, `always`, `unless-stopped`, `on-failure[:N]`. */
export function parseRestartPolicy(text: string): RestartPolicy {
  return rules.parseRestartPolicy(text);
}

/** `-v SRC:DST[:OPTS]` or `-v /anonymous`. */
export function parseVolumeFlag(text: string): MountSpec {
  return rules.parseVolumeFlag(text);
}

/** `--mount type=bind,source=…,target=…`. */
export function parseMountFlag(text: string): MountSpec {
  return rules.parseMountFlag(text);
}

/** `--tmpfs /path[:opts]`. */
export function parseTmpfsFlag(text: string): MountSpec {
  return rules.parseTmpfsFlag(text);
}

/** The lines of an `--env-file`. */
export function parseEnvFile(text: string, file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return rules.parseEnvFile(text, file, env);
}

/** `-e K=V`, or `-e K` taking K from `env` (undefined when unset there). */
export function parseEnvFlag(text: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return rules.parseEnvFlag(text, env);
}

/** `TERM`, `SIGTERM`, `15` → 15. */
export function parseSignal(text: string): number {
  return rules.parseSignal(text);
}

/** 15 → `SIGTERM`. */
export function signalName(n: number): string {
  return rules.signalName(n);
}

/** `--ip`, `--ip6`, `--dns`: an address of the given family (any when undefined). */
export function parseIpFlag(text: string, family: 4 | 6 | undefined, flag: string): string {
  return rules.parseIpFlag(text, family, flag);
}

/** `--add-host name:ip`. */
export function parseAddHostFlag(text: string): { name: string; ip: string } {
  return rules.parseAddHostFlag(text);
}
