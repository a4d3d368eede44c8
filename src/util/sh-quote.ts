/** Single-quotes `s` as one word for POSIX sh: the only special character inside is `'`. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
