/** Error texts stored in `consumers.last_error` and `parked_records.error` are cut to this many characters. */
export const MAX_ERROR_TEXT = 4000;

/**
 * An error as text that a `text` column accepts: `name: message` (or `String(error)`), see {@link storableText}.
 *
 * @example
 * errorText(new Error('bad \u0000 byte')); // 'Error: bad \uFFFD byte'
 */
export function errorText(error: unknown): string {
  return storableText(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

/**
 * `text` with every NUL character (which Postgres refuses in `text`, so the statement storing it failed)
 * replaced by U+FFFD, and cut to {@link MAX_ERROR_TEXT} characters, ending with how long it was:
 * `… (100007 characters)`.
 */
export function storableText(text: string): string {
  const clean = text.replaceAll('\u0000', '\uFFFD');
  if (clean.length <= MAX_ERROR_TEXT) return clean;
  const suffix = `… (${clean.length} characters)`;
  let head = clean.slice(0, MAX_ERROR_TEXT - suffix.length);
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1); // not half a surrogate pair
  return head + suffix;
}
