/** Names of prepared statements and of the notification channel: at most 63 bytes, distinct, readable. */
import { describe, expect, it } from 'vitest';
import { MAX_NAME_BYTES, nameWithSchema, statementName } from '../../src/log/statement-name.js';
import { notifyChannel } from '../../src/log/statement-parts.js';

const long = 'a'.repeat(63);
const twin = `${'a'.repeat(62)}b`; // the same prefix as far as a shortened name keeps it

describe('statementName', () => {
  it('keeps the full name while it fits in 63 bytes', () => {
    expect(statementName('fencepost', 'append-one')).toBe('fencepost.fencepost.append-one.v1');
    expect(statementName('tenant_a', 'waiting', 3)).toBe('fencepost.tenant_a.waiting.v3');
  });

  it('shortens the schema with a hash of it where the full name would be longer', () => {
    const name = statementName(long, 'append-many-create-record');
    expect(name).toMatch(/^fencepost\.a+~[0-9a-f]{10}\.append-many-create-record\.v1$/);
    expect(Buffer.byteLength(name)).toBe(MAX_NAME_BYTES);
  });

  it('gives distinct names to distinct schemas, roles and versions', () => {
    expect(statementName(long, 'read')).not.toBe(statementName(twin, 'read'));
    expect(statementName(long, 'read')).not.toBe(statementName(long, 'read-all'));
    expect(statementName(long, 'waiting', 3)).not.toBe(statementName(long, 'waiting', 1));
    // Every schema length from the one where names started to collide (34) to the longest (63).
    for (let length = 1; length <= 63; length++) {
      const schema = 's'.repeat(length);
      const names = ['read', 'read-all', 'append-many', 'append-many-create-record'].map((role) =>
        statementName(schema, role),
      );
      expect(new Set(names.map((n) => n.slice(0, MAX_NAME_BYTES))).size).toBe(names.length);
    }
  });

  it('refuses a role that could blur the name', () => {
    expect(() => statementName(long, 'Bad.Role')).toThrow(/bad statement role/);
    expect(() => statementName(long, 'x'.repeat(33))).toThrow(/bad statement role/);
  });
});

describe('notifyChannel', () => {
  it('is fencepost_<schema>, shortened past 63 bytes as statement names are', () => {
    expect(notifyChannel('fencepost')).toBe('fencepost_fencepost');
    expect(notifyChannel(long)).toMatch(/^fencepost_a+~[0-9a-f]{10}$/);
    expect(Buffer.byteLength(notifyChannel(long))).toBe(MAX_NAME_BYTES);
    expect(notifyChannel(long)).not.toBe(notifyChannel(twin));
    expect(nameWithSchema('fencepost_', 'a'.repeat(53), '')).toBe(`fencepost_${'a'.repeat(53)}`);
  });
});
