// A throwaway self-signed certificate made with openssl, for loopback TLS servers in tests.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SelfSigned {
  key: Buffer;
  cert: Buffer;
  keyPath: string;
  certPath: string;
}

/** Write `<name>.key`/`<name>.crt` into `dir`: RSA 2048, valid `days`, subject CN=`cn`. */
export function selfSignedCert(
  dir: string,
  options: { cn: string; subjectAltName?: string; name?: string; days?: number },
): SelfSigned {
  const keyPath = join(dir, `${options.name ?? 'tls'}.key`);
  const certPath = join(dir, `${options.name ?? 'tls'}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      String(options.days ?? 1),
      '-subj',
      `/CN=${options.cn}`,
      ...(options.subjectAltName ? ['-addext', `subjectAltName=${options.subjectAltName}`] : []),
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), keyPath, certPath };
}
