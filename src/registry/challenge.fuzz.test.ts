// Property-based test of the WWW-Authenticate parser: a registry's (or a man in the middle's)
// header may be anything, and the parser must neither throw nor run away on it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fuzz, onlyBerthErrors, stringFrom } from '../../test/helpers/fuzz.js';
import { parseWwwAuthenticate } from './_challenge.js';

const HEADER_TOKENS = [
  'Bearer',
  'Basic',
  'bearer',
  ' ',
  '\t',
  ',',
  '=',
  '==',
  '"',
  '\\',
  '\\"',
  'realm',
  'service',
  'scope',
  'error',
  '"https://auth.example/token"',
  'repository:a:pull,push',
  'abc',
  'A+/',
  '\u00e9',
  '\u{1F600}',
];

test('parseWwwAuthenticate: challenges (never an exception) for any header values', (t) => {
  fuzz(
    t,
    fc.property(
      fc.oneof(stringFrom(HEADER_TOKENS, 60), fc.array(stringFrom(HEADER_TOKENS, 40), { maxLength: 4 })),
      (values) => {
        const challenges = onlyBerthErrors('parseWwwAuthenticate', () => parseWwwAuthenticate(values));
        for (const c of challenges ?? []) {
          assert.equal(c.scheme, c.scheme.toLowerCase());
          for (const k of Object.keys(c.params)) assert.equal(k, k.toLowerCase());
        }
      },
    ),
  );
});
