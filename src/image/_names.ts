import { familiarName, type ImageReference, parseReference } from '../oci/index.js';

/** `docker.io/library/bb:latest` → `bb:latest`, `localhost/x:1` stays, as docker prints RepoTags. */
export function familiarTag(fullName: string): string {
  const ref = parseReference(fullName);
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
}

export function familiarRepoDigest(repoDigest: string): string {
  const at = repoDigest.indexOf('@');
  const ref = parseReference(repoDigest.slice(0, at), { defaultTag: false });
  return `${familiarName(ref)}${repoDigest.slice(at)}`;
}

/** Full normalized name with tag: `bb` → `docker.io/library/bb:latest`. */
export function fullTagName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}:${ref.tag ?? 'latest'}`;
}
