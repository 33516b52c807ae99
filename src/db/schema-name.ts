import { InvalidArgumentError } from '../log/errors.js';

/** The Postgres schema fencepost uses when none is given. */
export const DEFAULT_SCHEMA = 'fencepost';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a schema name: lower-case letters, digits and `_`, not starting with a digit, at most 63 bytes.
 * The name is spliced into statement text as a quoted identifier, so it is held to a strict shape.
 *
 * @throws InvalidArgumentError naming the rule and the value.
 */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new InvalidArgumentError(
      `schema must match ${SCHEMA_NAME.source} (lower-case letters, digits and _, at most 63 bytes); got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/** `"schema"."name"`, for statement text built once per schema. */
export function qualified(schema: string, name: string): string {
  return `"${checkSchemaName(schema)}"."${name}"`;
}
