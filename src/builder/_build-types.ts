// The build's public request/result types, the state carried between steps, and the small
// helpers every executor part shares (the cache-key hash, constants of the build environment).

import { createHash } from 'node:crypto';
import type { ContainerManager } from '../container/index.js';
import type { ImageConfig } from '../oci/index.js';
import type { ImageLayerRef, ImageRecord, Store } from '../store/index.js';
import type { CommandForm } from './_ast.js';
import type { BuildEvent, LayerFinding } from './_events.js';

export interface BuildSecret {
  id: string;
  value: Buffer;
}

/** The entitlements `allow` may name, as BuildKit's. */
export const BUILD_ENTITLEMENTS: readonly string[] = ['network.host', 'security.insecure'];

export interface BuildRequest {
  /** The build context directory. */
  contextDir: string;
  /** The Dockerfile's text and the name errors show. */
  dockerfile: { text: string; name: string };
  /** Full normalized names for the result. */
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** Pull base images even when present. */
  pull?: boolean;
  secrets?: BuildSecret[];
  labels?: Record<string, string>;
  /**
   * BuildKit entitlements the caller grants (`--allow`): `security.insecure` lets
   * `RUN --security=insecure` run privileged; `network.host` is accepted (RUN steps already get
   * the host network unless `network` says none).
   */
  allow?: string[];
  /** Network of RUN steps (default host: berth has no bridge network yet). */
  network?: 'none' | 'host';
  /** Seconds since the epoch for every timestamp (default 0). */
  sourceDateEpoch?: number;
  /** Make the layers this build adds into one. */
  squash?: boolean;
  /** Fail instead of warning when a layer holds a secret or key. */
  strictSecrets?: boolean;
  runtime?: string;
  /** .dockerignore patterns. */
  ignore?: string[];
  signal?: AbortSignal;
  onEvent?: (e: BuildEvent) => void;
}

export interface BuildDeps {
  store: Store;
  containers: ContainerManager;
  /** Find a base image, pulling it when missing (or always with `pull`). */
  resolveImage(reference: string, options: { pull: boolean; platform?: string }): Promise<ImageRecord>;
  /**
   * GET a URL (`ADD <url>`) into a new file `dest`, refusing more than `maxBytes` while
   * reading, with the registry transport's TLS rules, redirects and timeouts; nothing is left
   * at `dest` on failure.
   */
  download(
    url: string,
    dest: string,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<{ size: number; digest: string }>;
  /** A directory on tmpfs for secret files (never on disk). */
  runroot: string;
}

export interface BuildResult {
  image: ImageRecord;
  findings: LayerFinding[];
  warnings: string[];
}

/** The state between steps. */
export interface StageState {
  config: ImageConfig;
  layers: ImageLayerRef[];
  /** Rolling cache key: covers the base image and every step so far. */
  chain: string;
  shell: string[];
  /** ARGs declared in this stage → value (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  /** How many of `layers` came from the base image (the rest this build made; --squash). */
  baseLayers: number;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
/** The last output lines of a failed RUN, for the progress display (not the one-line error). */
export const outputTails = new WeakMap<object, string[]>();
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const SCRATCH = 'scratch';
export const HISTORY_COMMENT = 'berth.build.v0';
/** Runtime mount points a RUN container may leave as empty stubs in its upper dir. */
export const RUNTIME_MOUNT_POINTS = [
  '/proc',
  '/sys',
  '/dev',
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
  '/run/.containerenv',
];
export const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'];

export function sha(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return `sha256:${h.digest('hex')}`;
}

export function commandText(c: CommandForm): string {
  return c.form === 'exec' ? JSON.stringify(c.args) : c.text;
}
