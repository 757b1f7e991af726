import type { NetworkRequest, NetworkStatus, PortMapping } from '../network/index.js';
import type { MountSpec, RestartPolicy } from './_options.js';

/** Everything `create`/`run` accepts, already parsed and typed. */
export interface ContainerCreateOptions {
  /** The image as the user named it. */
  image: string;
  name?: string;
  /** Arguments after the image (replace the image's Cmd). */
  command?: string[];
  /** `--entrypoint`: replaces the image's Entrypoint ('' clears it). */
  entrypoint?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  tty?: boolean;
  interactive?: boolean;
  hostname?: string;
  mounts?: MountSpec[];
  readOnly?: boolean;
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  cpuShares?: number;
  /** `--cpus`, kept as CFS quota/period (Docker's NanoCpus); exclusive with cpuQuota/cpuPeriod. */
  cpus?: { quota: number; period: number };
  /** `--cpu-quota` / `--cpu-period`, each on its own (microseconds). */
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  ulimits?: { name: string; soft: number; hard: number }[];
  capAdd?: string[];
  capDrop?: string[];
  /**
   * `{ file }` is read once at create and kept as `{ file, profile }` (the parsed JSON), as Docker
   * keeps the profile's content: a later start must not depend on the caller's cwd or on edits to
   * the file. Front ends that already hold the content pass `{ profile }`.
   */
  seccomp?: 'default' | 'unconfined' | { file?: string; profile?: unknown };
  noNewPrivileges?: boolean;
  privileged?: boolean;
  init?: boolean;
  restart?: RestartPolicy;
  stopSignal?: string;
  stopTimeout?: number;
  labels?: Record<string, string>;
  runtime?: string;
  /**
   * A mode that replaces bridge networking: none | host | container:NAME. Unset: the container
   * joins `networks`, or the default network `berth` when that is empty.
   */
  network?: string;
  /** Networks to join (repeated --network NET, with --network-alias, --ip, --mac-address). */
  networks?: NetworkRequest[];
  /** `-p`, after range expansion. */
  ports?: PortMapping[];
  /** `-P`: publish every exposed port (the image's EXPOSE and --expose) on a random host port. */
  publishAll?: boolean;
  /** `--expose 80[/tcp]` or a range, as "80/tcp". */
  expose?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** `--add-host name:ip`. */
  addHosts?: { name: string; ip: string }[];
  domainname?: string;
  autoRemove?: boolean;
  /** `--log-driver` / `--log-opt`: where the output goes; absent is the default file log. */
  log?: LogConfig;
}

/** The container's log: a file (`json-file`/`k8s-file` name the same conmon k8s-file log) or none. */
export interface LogConfig {
  driver: 'json-file' | 'k8s-file' | 'none';
  /** `max-size`: conmon starts the file afresh past this many bytes. */
  maxSize?: number;
}

/** What the store keeps for a container (its config_json). */
export interface StoredContainerConfig {
  options: ContainerCreateOptions;
  imageId: string;
  /** The reference shown by `ps` (the user's words, normalized). */
  imageName: string;
  /** Final argv: entrypoint + cmd after overrides. */
  args: string[];
  env: string[];
  workdir: string;
  hostname: string;
  stopSignal: string;
  stopTimeout: number;
  /** Set once `stop` was asked for, so `unless-stopped` and `always` do not restart it. */
  stoppedByUser?: boolean;
  /**
   * Set by a `kill` whose signal leaves the restart policy armed (Docker's HasBeenManuallyStopped
   * without ExitOnNext): `unless-stopped` does not restart it, `always` and `on-failure` do.
   * Any start clears it.
   */
  manuallyStopped?: boolean;
  /** The image's EXPOSE plus --expose, as "80/tcp" (what -P publishes). */
  exposedPorts?: string[];
  /** The container's network while it runs; gone once it is torn down. */
  netStatus?: NetworkStatus;
}
