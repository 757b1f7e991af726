// registry/: the OCI distribution client. Fetches and pushes manifests and blobs over HTTP(S)
// with bearer/basic auth (docker config.json, credential helpers), retries, mirrors and ranged
// resume; verifies what it reads against digests and size limits. It never touches the image store.

export type { Credentials } from './_authfile.js';
export {
  authFilePath,
  getCredentials,
  normalizeAuthHost,
  removeCredentials,
  saveCredentials,
} from './_authfile.js';
export type { Challenge } from './_challenge.js';
export { parseWwwAuthenticate } from './_challenge.js';
export type { FetchedManifest, RegistryClientOptions } from './_client.js';
export { RegistryClient } from './_client.js';
export type { RegistriesConfig, RegistryHostConfig } from './_config.js';
export { DEFAULT_REGISTRIES_CONF, loadRegistriesConfig } from './_config.js';
export type { DownloadOptions, DownloadResult } from './_download.js';
export type { RetryInfo } from './_transport.js';
