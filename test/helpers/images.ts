// Small real images for tests, written as OCI image layouts without berth's own code: the
// layer tar comes from the system `tar` (deterministic flags), compression from gzip/zstd.
// Push them with skopeoCopy(`oci:${layoutDir}:${tag}`, `docker://${host}/name:tag`).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { hostPlatform, MediaType } from '../../src/oci/index.js';

const execFileP = promisify(execFile);

export type Compression = 'gzip' | 'zstd' | 'none';

export interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

const BUSYBOX_APPLETS = [
  'sh',
  'echo',
  'true',
  'false',
  'cat',
  'ls',
  'id',
  'env',
  'sleep',
  'pwd',
  'mkdir',
  'rm',
  'touch',
  'wc',
  'head',
  'grep',
  'hostname',
  'printf',
  'test',
  'uname',
  'whoami',
  'stat',
  'ps',
  'kill',
  'date',
  'mount',
  'sed',
  'tr',
];

const LAYER_TYPES: Record<Compression, string> = {
  gzip: MediaType.ociLayerGzip,
  zstd: MediaType.ociLayerZstd,
  none: MediaType.ociLayer,
};

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Write a blob into layout/blobs/sha256 and return its descriptor fields. */
function writeBlob(layoutDir: string, data: Buffer): { digest: string; size: number } {
  const digest = sha256(data);
  const dir = join(layoutDir, 'blobs', 'sha256');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, digest.slice('sha256:'.length)), data);
  return { digest, size: data.length };
}

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const clean = rel.replace(/^\/+/, '');
    if (clean.split('/').includes('..')) throw new Error(`bad extra file path ${rel}`);
    const p = join(root, clean);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

/** Tar a directory deterministically, then compress; returns the layer bytes and the diffID. */
async function tarLayer(rootfs: string, compression: Compression): Promise<{ blob: Buffer; diffId: string }> {
  const tarPath = `${rootfs}.tar`;
  await execFileP('tar', [
    '--numeric-owner',
    '--owner=0',
    '--group=0',
    '--sort=name',
    '--mtime=@0',
    '--format=gnu',
    '-C',
    rootfs,
    '-cf',
    tarPath,
    '--',
    ...readdirSync(rootfs).sort(),
  ]);
  const tar = readFileSync(tarPath);
  const diffId = sha256(tar);
  let blob = tar;
  if (compression === 'gzip') {
    await execFileP('gzip', ['-n', '-f', tarPath]);
    blob = readFileSync(`${tarPath}.gz`);
  } else if (compression === 'zstd') {
    await execFileP('zstd', ['-q', '-f', tarPath, '-o', `${tarPath}.zst`]);
    blob = readFileSync(`${tarPath}.zst`);
  }
  return { blob, diffId };
}

function busyboxRootfs(root: string, extraFiles: Record<string, string>): void {
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n');
  mkdirSync(join(root, 'root'), { recursive: true });
  chmodSync(join(root, 'root'), 0o700);
  mkdirSync(join(root, 'tmp'), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  writeTree(root, extraFiles);
}

interface ImageParts {
  architecture: string;
  variant?: string;
  rootfs: (root: string) => void;
  compression: Compression;
  cmd: string[];
  createdBy: string;
}

/** Write one image (layer, config, manifest) as blobs; returns the manifest descriptor. */
async function writeImage(
  layoutDir: string,
  parts: ImageParts,
): Promise<LayoutDescriptor & { configDigest: string; layerDigest: string; diffId: string }> {
  const work = mkdtempSync(join(tmpdir(), 'berth-image-'));
  try {
    const root = join(work, 'rootfs');
    mkdirSync(root);
    parts.rootfs(root);
    const { blob, diffId } = await tarLayer(root, parts.compression);
    const layer = writeBlob(layoutDir, blob);
    const config: Record<string, unknown> = {
      created: '1970-01-01T00:00:00Z',
      architecture: parts.architecture,
      os: 'linux',
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: parts.cmd,
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: parts.createdBy }],
    };
    if (parts.variant) config.variant = parts.variant;
    const configBlob = writeBlob(layoutDir, Buffer.from(JSON.stringify(config)));
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, ...configBlob },
      layers: [{ mediaType: LAYER_TYPES[parts.compression], ...layer }],
    };
    const m = writeBlob(layoutDir, Buffer.from(JSON.stringify(manifest)));
    return {
      mediaType: MediaType.ociManifest,
      ...m,
      configDigest: configBlob.digest,
      layerDigest: layer.digest,
      diffId,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Add (or replace) the index.json entry for `tag`, keeping other tags. */
function tagInLayout(layoutDir: string, tag: string, desc: LayoutDescriptor): void {
  writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexPath = join(layoutDir, 'index.json');
  let manifests: LayoutDescriptor[] = [];
  if (existsSync(indexPath)) {
    manifests = (JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests: LayoutDescriptor[] }).manifests;
    manifests = manifests.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  }
  manifests.push({
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    annotations: { 'org.opencontainers.image.ref.name': tag },
  });
  writeFileSync(indexPath, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
}

/**
 * An OCI layout whose single layer is a busybox rootfs: /bin/busybox plus applet symlinks,
 * /etc/passwd and /etc/group (root, nobody), /root (0700), /tmp (1777), and `extraFiles`.
 */
export async function makeBusyboxLayout(
  dir: string,
  options: {
    tag?: string;
    compression?: Compression;
    extraFiles?: Record<string, string>;
    cmd?: string[];
  } = {},
): Promise<{
  layoutDir: string;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  diffId: string;
}> {
  mkdirSync(dir, { recursive: true });
  const platform = hostPlatform();
  const img = await writeImage(dir, {
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    rootfs: (root) => busyboxRootfs(root, options.extraFiles ?? {}),
    compression: options.compression ?? 'gzip',
    cmd: options.cmd ?? ['sh'],
    createdBy: 'berth test: busybox rootfs',
  });
  tagInLayout(dir, options.tag ?? 'latest', img);
  return {
    layoutDir: dir,
    manifestDigest: img.digest,
    configDigest: img.configDigest,
    layerDigest: img.layerDigest,
    diffId: img.diffId,
  };
}

/**
 * An OCI layout whose tag points at an image index with linux/amd64 and linux/arm64/v8 images.
 * The host's architecture gets the busybox rootfs; the other one only a marker file
 * (/arch-marker containing its architecture). Push with skopeoCopy(..., { all: true }).
 */
export async function makeMultiArchLayout(
  dir: string,
  options: { tag?: string; compression?: Compression } = {},
): Promise<{ layoutDir: string; indexDigest: string; manifests: Record<'amd64' | 'arm64', string> }> {
  mkdirSync(dir, { recursive: true });
  const hostArch = hostPlatform().architecture;
  const entries: LayoutDescriptor[] = [];
  const manifests = {} as Record<'amd64' | 'arm64', string>;
  for (const arch of ['amd64', 'arm64'] as const) {
    const variant = arch === 'arm64' ? 'v8' : undefined;
    const img = await writeImage(dir, {
      architecture: arch,
      ...(variant ? { variant } : {}),
      rootfs:
        arch === hostArch
          ? (root) => busyboxRootfs(root, { 'arch-marker': `${arch}\n` })
          : (root) => writeTree(root, { 'arch-marker': `${arch}\n` }),
      compression: options.compression ?? 'gzip',
      cmd: arch === hostArch ? ['sh'] : ['/arch-marker'],
      createdBy: `berth test: ${arch} image`,
    });
    manifests[arch] = img.digest;
    entries.push({
      mediaType: img.mediaType,
      digest: img.digest,
      size: img.size,
      platform: { architecture: arch, os: 'linux', ...(variant ? { variant } : {}) },
    });
  }
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries };
  const blob = writeBlob(dir, Buffer.from(JSON.stringify(index)));
  tagInLayout(dir, options.tag ?? 'latest', { mediaType: MediaType.ociIndex, ...blob });
  return { layoutDir: dir, indexDigest: blob.digest, manifests };
}
