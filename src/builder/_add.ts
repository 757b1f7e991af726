// ADD's URL sources: each URL is fetched once per build, by the engine's `download` (the
// registry transport: its TLS rules, redirects and timeouts), straight to a file in a store
// staging dir under a byte cap enforced while reading.

import { join } from 'node:path';
import type { Build } from './_executor.js';

/** Most bytes one `ADD <url>` may fetch. */
export const MAX_ADD_URL_BYTES = 1024 * 1024 * 1024;

export interface Downloaded {
  /** The file holding the body (removed with the build's download dir). */
  path: string;
  size: number;
  /** `sha256:<hex>` of the body. */
  digest: string;
}

export function download(b: Build, url: string): Promise<Downloaded> {
  let p = b.downloads.get(url);
  if (!p) {
    const name = `url-${b.downloads.size}`;
    p = (async () => {
      const path = join(await b.downloadDir(), name);
      const r = await b.deps.download(url, path, {
        maxBytes: MAX_ADD_URL_BYTES,
        signal: b.signal,
      });
      return { path, size: r.size, digest: r.digest };
    })();
    b.downloads.set(url, p);
  }
  return p;
}
