/** One `WWW-Authenticate` challenge: scheme lowercased, parameter names lowercased. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
  token68?: string;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_RE = /^[A-Za-z0-9\-._~+/]+=*(?=\s*(?:,|$))/;
const MAX_HEADER = 16 * 1024;

/**
 * Parse the challenges of one or more `WWW-Authenticate` header values (RFC 9110 §11.6.1):
 * `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"`, several
 * challenges separated by commas, quoted strings with commas and backslash escapes inside.
 * Malformed tails are dropped rather than guessed at.
 */
export function parseWwwAuthenticate(values: string | readonly string[] | undefined): Challenge[] {
  if (values === undefined) return [];
  const list = typeof values === 'string' ? [values] : values;
  const out: Challenge[] = [];
  for (const v of list) out.push(...parseOne(v.slice(0, MAX_HEADER)));
  return out;
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let pos = 0;
  const skipWs = () => {
    while (pos < s.length && (s[pos] === ' ' || s[pos] === '\t')) pos++;
  };
  const skipWsCommas = () => {
    while (pos < s.length && (s[pos] === ' ' || s[pos] === '\t' || s[pos] === ',')) pos++;
  };
  const readToken = () => {
    const start = pos;
    while (pos < s.length && TOKEN_CHAR.test(s[pos]!)) pos++;
    return s.slice(start, pos);
  };
  const readQuoted = () => {
    pos++; // opening quote
    let value = '';
    while (pos < s.length && s[pos] !== '"') {
      if (s[pos] === '\\' && pos + 1 < s.length) pos++;
      value += s[pos];
      pos++;
    }
    pos++; // closing quote (or past the end when unterminated)
    return value;
  };

  while (pos < s.length) {
    skipWsCommas();
    if (pos >= s.length) break;
    const scheme = readToken();
    if (!scheme) break; // garbage: stop rather than misread the rest
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: Object.create(null) };
    skipWs();
    const t68 = TOKEN68_RE.exec(s.slice(pos));
    if (t68 && !/^[^=]+=\s*[^=,\s]/.test(s.slice(pos))) {
      challenge.token68 = t68[0];
      pos += t68[0].length;
    } else {
      for (;;) {
        const save = pos;
        skipWsCommas();
        const name = readToken();
        if (!name) {
          pos = save;
          break;
        }
        skipWs();
        if (s[pos] !== '=') {
          // a bare token after a comma starts the next challenge
          pos = save;
          break;
        }
        pos++;
        skipWs();
        const value = s[pos] === '"' ? readQuoted() : readToken();
        const key = name.toLowerCase();
        if (!(key in challenge.params)) challenge.params[key] = value;
      }
    }
    out.push(challenge);
  }
  return out;
}
