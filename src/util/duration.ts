// Go's time.ParseDuration, which Dockerfile HEALTHCHECK flags and `docker events --since`
// both take.

export const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Nanoseconds, or an error message. Accepts what Go accepts: `1h2m3.5s`, `500ms`, `0`. */
export function parseGoDuration(text: string): number | string {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return `invalid duration "${text}"`;
  let total = 0;
  while (s !== '') {
    let i = 0;
    let whole = 0;
    while (i < s.length && s[i]! >= '0' && s[i]! <= '9') whole = whole * 10 + (s.charCodeAt(i++) - 48);
    const hadWhole = i > 0;
    let fraction = 0;
    let scale = 1;
    let hadFraction = false;
    if (s[i] === '.') {
      i++;
      const fracStart = i;
      while (i < s.length && s[i]! >= '0' && s[i]! <= '9') {
        // Digits past double precision cannot change a nanosecond count below 2^53.
        if (scale < 1e15) {
          fraction = fraction * 10 + (s.charCodeAt(i) - 48);
          scale *= 10;
        }
        i++;
      }
      hadFraction = i > fracStart;
    }
    if (!hadWhole && !hadFraction) return `invalid duration "${text}"`;
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !(s[i]! >= '0' && s[i]! <= '9')) i++;
    const unitName = s.slice(unitStart, i);
    if (unitName === '') return `missing unit in duration "${text}"`;
    const unit = DURATION_UNITS[unitName];
    if (unit === undefined) return `unknown unit "${unitName}" in duration "${text}"`;
    total += whole * unit + Math.trunc(fraction * (unit / scale));
    if (!Number.isSafeInteger(total)) return `duration "${text}" is out of range`;
    s = s.slice(i);
  }
  return negative && total !== 0 ? -total : total;
}
