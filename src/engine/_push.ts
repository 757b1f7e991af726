// Push and per-request registry credentials for the Engine facade: push a stored image, pull
// with one request's credentials (the API's X-Registry-Auth), and check credentials against a
// registry without storing them (the API's /auth, where the client keeps them itself).
import { hasCode, InvalidReferenceError } from '../errors/index.js';
import {
  fullTagName,
  type PullOptions,
  type PullResult,
  type PushResult,
  type PushSink,
  pushImage,
} from '../image/index.js';
import { type ImageReference, parseReference, repositoryName } from '../oci/index.js';
import {
  type Credentials,
  getCredentials,
  normalizeAuthHost,
  type RegistryClient,
} from '../registry/index.js';
import { recordImageEvent } from './_events.js';
import type { Parts } from './_parts.js';
import { registryHost } from './_system.js';

/** Credentials a caller hands over for one request instead of the stored login. */
export type RegistryCredentials = Credentials;

export interface PushRequestOptions {
  /** Where to push (`DEST`); default the source name itself. */
  destination?: string;
  /** Used for the destination's registry instead of the stored login. */
  credentials?: RegistryCredentials;
  onProgress?: PushSink;
  signal?: AbortSignal;
  /** Layers uploaded at once (default 4). */
  concurrency?: number;
}

export type PushReport = PushResult;

/**
 * Run `fn` with a registry client: the shared one, or, with `credentials`, one of its own that
 * gives them to `domain` only (other hosts, such as mirrors, keep the stored login).
 */
async function withClient<T>(
  parts: Parts,
  domain: string,
  credentials: RegistryCredentials | undefined,
  fn: (client: RegistryClient) => Promise<T>,
): Promise<T> {
  if (!credentials) return fn(parts.registry);
  const target = normalizeAuthHost(domain);
  const authFile = parts.options.authFile;
  const client = parts.newRegistryClient({
    credentials: async (host) =>
      normalizeAuthHost(host) === target ? credentials : getCredentials(host, { authFile }),
  });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** `pull` with one request's credentials (see withClient). */
export async function pullWithCredentials(
  parts: Parts,
  reference: string,
  options: PullOptions,
  credentials: RegistryCredentials | undefined,
): Promise<PullResult> {
  const { domain } = parseReference(reference);
  return withClient(parts, domain, credentials, (client) => parts.pull(reference, options, client));
}

/**
 * `push SOURCE [DEST]`: the stored image SOURCE names to DEST (default SOURCE, which must then
 * be one of the image's names, not an ID). The image gains DEST's repo digest, as after a pull.
 */
export async function push(
  parts: Parts,
  source: string,
  options: PushRequestOptions = {},
): Promise<PushReport> {
  const image = parts.resolveImage(source);
  const destination = pushDestination(source, options.destination, image.names);
  const result = await withClient(parts, destination.domain, options.credentials, (client) =>
    pushImage({ store: parts.store, client }, image, destination, {
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    }),
  );
  const repoDigest = `${repositoryName(destination)}@${result.digest}`;
  // (a record only: an image removed while it was pushed is not brought back)
  if (!image.repoDigests.includes(repoDigest) && parts.store.findImage(image.id)) {
    try {
      parts.store.commitImage({
        id: image.id,
        manifestDigest: image.manifestDigest,
        manifestMediaType: image.manifestMediaType,
        ...(image.configMediaType ? { configMediaType: image.configMediaType } : {}),
        layers: image.layerBlobs,
        names: [],
        repoDigests: [repoDigest],
        ...(image.created ? { created: image.created } : {}),
        platform: image.platform,
      });
    } catch (err) {
      // removed by another process while it was pushed: the push itself still succeeded
      if (!hasCode(err, 'NOT_FOUND')) throw err;
    }
  }
  recordImageEvent(parts.store, 'push', result.reference, result.reference);
  return result;
}

/** DEST parsed (tag `latest` when it has none); without DEST, SOURCE must be a name of the image. */
export function pushDestination(source: string, dest: string | undefined, names: string[]): ImageReference {
  const input = dest ?? source;
  const ref = parseReference(input);
  if (ref.digest !== undefined) {
    throw new InvalidReferenceError(
      `cannot push to "${input}": a push destination names a tag, not a digest`,
    );
  }
  if (dest === undefined && !names.includes(fullTagName(ref))) {
    throw new InvalidReferenceError(
      `cannot push "${source}": it is not a name of the image; give a destination (push IMAGE DEST) or tag it first`,
    );
  }
  return ref;
}

/** `/auth`: check credentials against a registry without storing them; returns the registry host. */
export async function checkLogin(
  parts: Parts,
  server: string,
  credentials: { username: string; password: string },
): Promise<string> {
  const host = registryHost(server);
  await parts.registry.checkLogin(host, credentials);
  return host;
}
