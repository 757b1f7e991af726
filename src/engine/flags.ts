// The docker flag parsers, for front ends that turn text into engine options. Each one checks
// its text and throws InvalidArgumentError naming the flag; the rules live in container/.
import * as rules from '../container/index.js';

type MountSpec = ReturnType<typeof rules.parseVolumeFlag>;
type RestartPolicy = ReturnType<typeof rules.parseRestartPolicy>;
type Ulimit = ReturnType<typeof rules.parseUlimit>;
type PortMapping = ReturnType<typeof rules.parsePublishFlag>[number];
type PortRenderOptions = rules.PortRenderOptions;

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

/** `-p [ip:][hostPort:]containerPort[/proto]`, ranges included → one mapping per container port. */
export function parsePublishFlag(text: string): PortMapping[] {
  return rules.parsePublishFlag(text);
}

/** `--expose 80`, `80/udp`, `8000-8002` → "80/tcp" keys. */
export function parseExposeFlag(text: string): string[] {
  return rules.parseExposeFlag(text);
}

/** `-P`: every exposed port not already published by -p, on a random host port. */
export function publishAllPorts(
  exposed: string[],
  options: { published?: PortMapping[] } = {},
): PortMapping[] {
  return rules.publishAllPorts(exposed, options);
}

/** The PORTS column of `ps` ("0.0.0.0:8080->80/tcp, 443/tcp"). */
export function formatPortsColumn(
  mappings: PortMapping[],
  options: PortRenderOptions & { exposed?: string[] } = {},
): string {
  return rules.formatPortsColumn(mappings, options);
}

/** The lines `port CONTAINER [PORT[/PROTO]]` prints; NotFoundError when the filter matches nothing. */
export function portCommandLines(
  mappings: PortMapping[],
  filter?: string,
  options: PortRenderOptions & { name?: string } = {},
): string[] {
  return rules.portCommandLines(mappings, filter, options);
}

/** inspect's NetworkSettings.Ports ("80/tcp" → bindings, or null when only exposed). */
export function portBindingsMap(
  mappings: PortMapping[],
  exposed: string[] = [],
  options: PortRenderOptions = {},
): Record<string, { HostIp: string; HostPort: string }[] | null> {
  return rules.portBindingsMap(mappings, exposed, options);
}

/** One `--security-opt`; `content` when seccomp= carries the profile's JSON (the Docker API). */
export function parseSecurityOpt(text: string, options: { content?: boolean } = {}): rules.SecurityOptions {
  return rules.parseSecurityOpt(text, options);
}

/** `--log-driver` with its `--log-opt` map (undefined: the default file log). */
export function parseLogConfig(
  driver: string | undefined,
  opts: Record<string, string>,
): ReturnType<typeof rules.parseLogConfig> {
  return rules.parseLogConfig(driver, opts);
}

/** `--log-opt KEY=VALUE` texts as a map. */
export function parseLogOpts(texts: string[]): Record<string, string> {
  return rules.parseLogOpts(texts);
}
