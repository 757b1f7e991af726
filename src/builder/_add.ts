// ADD's URL sources: downloaded once per build.

import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { Build } from './_executor.js';

export function download(b: Build, url: string): Promise<Buffer> {
  let p = b.downloads.get(url);
  if (!p) {
    p = (async () => {
      const res = await fetch(url, { redirect: 'follow', signal: b.req.signal ?? null });
      if (!res.ok) throw new NotFoundError(`ADD ${url}: HTTP ${res.status}`);
      const limit = 1024 * 1024 * 1024;
      const len = Number(res.headers.get('content-length') ?? 0);
      if (len > limit) throw new InvalidArgumentError(`ADD ${url}: ${len} bytes is over the 1 GiB limit`);
      return Buffer.from(await res.arrayBuffer());
    })();
    b.downloads.set(url, p);
  }
  return p;
}
