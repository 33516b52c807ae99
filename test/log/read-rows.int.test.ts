/**
 * How reads turn rows into records: seqNums the server leaves out when they follow on (and a gap, which must
 * fail the read), header pairs shared by consecutive rows, and sessions that read a page ahead.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/index.js';
import { collect, rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** Deletes one record behind the log's back, as a broken sweep or a manual DELETE would. */
async function deleteRecord(stream: string, seqNum: number): Promise<void> {
  const { schema, pool } = fixture.log;
  await pool.query(
    `delete from "${schema}".records r using "${schema}".streams s
     where s.id = r.stream_id and s.name = $1 and r.seq_num = $2`,
    [stream, seqNum],
  );
}

describe('seqNums', () => {
  it('a record missing in the middle of a page fails the read with a StorageError naming the gap', async () => {
    const name = uniqueName('gap');
    const stream = fixture.log.stream(name);
    await stream.append(Array.from({ length: 10 }, (_, i) => ({ body: `r${i}` })));
    await deleteRecord(name, 4);
    const error = await rejectionOf(stream.read({ seqNum: 0 }));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('seqNum 5 after 3');
    expect((await rejectionOf(collect(stream.readSession({ seqNum: 0 })))) as Error).toBeInstanceOf(
      StorageError,
    );
  });

  it('a read from the middle numbers its records from where it starts', async () => {
    const stream = fixture.log.stream(uniqueName('middle'));
    for (let i = 0; i < 3; i++) {
      await stream.append(Array.from({ length: 1_000 }, (_, j) => ({ body: `r${i * 1_000 + j}` })));
    }
    const records = await collect(stream.readSession({ seqNum: 1_234 }));
    expect(records).toHaveLength(1_766);
    expect(records.every((r, i) => r.seqNum === 1_234 + i && r.body === `r${1_234 + i}`)).toBe(true);
  });
});

describe('headers', () => {
  it('consecutive records with the same headers each get pairs of their own', async () => {
    const stream = fixture.log.stream(uniqueName('same-headers'));
    const headers: [string, string][] = [
      ['type', 'OrderPlaced'],
      ['v', '1'],
    ];
    await stream.append([
      { body: 'a', headers },
      { body: 'b', headers },
      { body: 'c' },
      { body: 'd', headers },
    ]);
    const { records } = await stream.read({ seqNum: 0 });
    records[0]!.headers[0]![1] = 'changed';
    records[0]!.headers.push(['extra', 'x']);
    expect(records.map((r) => r.headers)).toEqual([
      [
        ['type', 'changed'],
        ['v', '1'],
        ['extra', 'x'],
      ],
      headers,
      [],
      headers,
    ]);
  });

  it('headers that change from record to record, and ones Postgres quotes, read back as written', async () => {
    const stream = fixture.log.stream(uniqueName('mixed-headers'));
    const written: [string, string][][] = [
      [['type', 'A']],
      [['type', 'B']],
      [['type', 'B']],
      [
        ['with space', 'a,b'],
        ['quote"', 'back\\slash'],
      ],
      [['type', 'B']],
      [['', '']].slice(1) as [string, string][],
      [
        ['a', ''],
        ['NULL', '{}'],
      ],
    ];
    await stream.append(written.map((headers, i) => ({ body: `r${i}`, headers })));
    const records = await collect(stream.readSession({ seqNum: 0 }));
    expect(records.map((r) => r.headers)).toEqual(written);
    // The same, one record per append (the single-record statement sends its header text its own way).
    const single = fixture.log.stream(uniqueName('mixed-headers-single'));
    for (const [i, headers] of written.entries()) await single.append([{ body: `r${i}`, headers }]);
    expect((await collect(single.readSession({ seqNum: 0 }))).map((r) => r.headers)).toEqual(written);
    const asBytes = await collect(stream.readSession({ seqNum: 0, as: 'bytes' }));
    expect(
      asBytes.map((r) => r.headers.map(([n, v]) => [Buffer.from(n).toString(), Buffer.from(v).toString()])),
    ).toEqual(written);
  });
});

describe('read-ahead', () => {
  it('a session left after its first page, while the next is being read, leaves the log closable', async () => {
    const log = await fixture.connect({ max: 2 });
    const stream = log.stream(uniqueName('left'));
    for (let i = 0; i < 3; i++) {
      await stream.append(
        Array.from({ length: 1_000 }, (_, j) => ({ body: `r${i * 1_000 + j}` })),
        {
          matchSeqNum: i * 1_000,
        },
      );
    }
    let seen = 0;
    for await (const record of stream.readSession({ seqNum: 0 })) {
      expect(record.seqNum).toBe(seen);
      if (++seen === 10) break;
    }
    // Both connections are free again: two reads at once do not wait for one another forever.
    const [a, b] = await Promise.all([stream.read({ seqNum: 0, count: 1 }), stream.checkTail()]);
    expect(a.records[0]!.body).toBe('r0');
    expect(b.seqNum).toBe(3_000);
    await log.close();
  });

  it('a session with a count over several pages stops exactly at it and reads nothing past it', async () => {
    const stream = fixture.log.stream(uniqueName('count'));
    for (let i = 0; i < 5; i++) {
      await stream.append(Array.from({ length: 1_000 }, (_, j) => ({ body: `r${i * 1_000 + j}` })));
    }
    const records = await collect(stream.readSession({ seqNum: 10, count: 4_000 }));
    expect(records.map((r) => r.seqNum)).toEqual(Array.from({ length: 4_000 }, (_, i) => 10 + i));
  });
});
