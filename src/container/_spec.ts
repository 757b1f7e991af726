// The OCI runtime spec of one container start: user, working directory, network and /etc
// files, mounts, init, seccomp and limits, from the stored create options.
import { existsSync, mkdirSync } from 'node:fs';
import { buildRuntimeSpec, type SpecMount } from '../runtime/index.js';
import type { ContainerRecord } from '../store/index.js';
import { resolveInRoot } from '../util/index.js';
import type { StoredContainerConfig } from './_config.js';
import { type NetworkHost, specNetworkAndEtc } from './_network.js';
import { readSeccompProfile } from './_seccomp-file.js';
import { resourceLimitsOf } from './_update.js';
import { resolveUser } from './_users.js';

export const TINI_PATHS = ['/usr/bin/tini-static', '/usr/bin/tini'];

export async function buildContainerSpec(
  host: NetworkHost,
  rec: ContainerRecord,
  config: StoredContainerConfig,
  rootfs: string,
  where: { bundle: string; runtime: string },
) {
  const o = config.options;
  const user = resolveUser(rootfs, o.user);
  // docker creates a missing working directory
  const cwd = resolveInRoot(rootfs, config.workdir);
  if (!existsSync(cwd)) {
    mkdirSync(cwd, { recursive: true, mode: 0o755 });
  }
  const { network, utsPath, etc, etcOptions } = await specNetworkAndEtc(host, rec, config, where.bundle);
  const mounts: SpecMount[] = [
    { destination: '/etc/hosts', type: 'bind', source: etc.hosts, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: etc.hostname, options: ['rbind', 'rprivate'] },
    {
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: etc.resolvConf,
      options: ['rbind', 'rprivate'],
    },
  ];
  for (const m of o.mounts ?? []) {
    const ro = m.readOnly ? ['ro'] : ['rw'];
    if (m.type === 'tmpfs') {
      mounts.push({
        destination: m.target,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', ...m.options, ...ro],
      });
    } else {
      const source = m.type === 'volume' ? host.store.volumePath(m.source) : m.source;
      mounts.push({
        destination: m.target,
        type: 'bind',
        source,
        options: ['rbind', ...(m.options.length ? m.options : ['rprivate']), ...ro],
      });
    }
  }
  let args = config.args;
  if (o.init) {
    const tini = TINI_PATHS.find((p) => existsSync(p))!;
    mounts.push({ destination: '/sbin/berth-init', type: 'bind', source: tini, options: ['rbind', 'ro'] });
    args = ['/sbin/berth-init', '--', ...args];
  }
  let seccomp: 'default' | 'unconfined' | { profile: unknown } = 'default';
  if (o.seccomp === 'unconfined') seccomp = 'unconfined';
  else if (o.seccomp && typeof o.seccomp === 'object') {
    // containers created before the profile was kept at create still name only the file
    seccomp = { profile: o.seccomp.profile ?? readSeccompProfile(o.seccomp)?.profile };
  }
  const spec = buildRuntimeSpec({
    rootfs,
    readonlyRootfs: o.readOnly === true,
    args,
    env: config.env,
    cwd: config.workdir,
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    terminal: o.tty === true,
    hostname: config.hostname,
    ...(o.domainname ? { domainname: o.domainname } : {}),
    ...(utsPath ? { utsPath } : {}),
    capAdd: o.capAdd ?? [],
    capDrop: o.capDrop ?? [],
    privileged: o.privileged === true,
    seccomp,
    noNewPrivileges: o.noNewPrivileges === true,
    ulimits: o.ulimits ?? [],
    resources: resourceLimitsOf(o),
    cgroupsPath: `/berth/${rec.id}`,
    network,
    mounts,
    annotations: { 'org.opencontainers.image.ref.name': config.imageName },
    runtime: where.runtime,
  });
  return { spec, etc: { paths: etc, ...(etcOptions ? { options: etcOptions } : {}) } };
}
