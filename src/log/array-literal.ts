/*
 * Postgres array literals for the batch statement's parameters, built here rather than by pg's generic
 * serializer, which inspects and escapes every element one by one (about a third of a 100-record batch's
 * client time went there). The results are plain text parameters, cast in the statement.
 */

/** `{1,2,3}`; a null element is NULL. */
export function intArray(values: readonly (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

/** `{t,f}`. */
export function boolArray(values: readonly boolean[]): string {
  return `{${values.map((v) => (v ? 't' : 'f')).join(',')}}`;
}

/** `{"a","b\"c"}`: every element quoted, backslashes and quotes escaped. */
export function textArray(values: readonly string[]): string {
  return `{${values.map(quote).join(',')}}`;
}

function quote(value: string): string {
  return `"${value.includes('\\') || value.includes('"') ? value.replace(/[\\"]/g, '\\$&') : value}"`;
}
