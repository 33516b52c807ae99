import { describe, expect, it } from 'vitest';
import type { EventLog } from '../../src/index.js';
import { horizonPassed } from '../support/horizon.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';

/*
 * Each record stores where it ends in its stream's metered bytes, and the stream row the total
 * (migrations/0006_record_offsets.sql); reads bound pages by `bytes` with them. These tests hold every kind
 * of append to that rule, check bytes-bounded reads against sizes summed here, and re-run the migration's
 * backfill over data written by every kind of append.
 */
const fixture = useEventLog();

/** Streams whose stored offsets break the rule: [stream, seqNum, end_bytes, expected]. */
async function offsetErrors(log: EventLog, prefix: string): Promise<unknown[]> {
  const schema = `"${log.schema}"`;
  const { rows } = await log.pool.query(
    `with r as (
       select s.name, r.seq_num, r.end_bytes, r.size,
         first_value(r.end_bytes - r.size) over w + sum(r.size) over w as expected
       from ${schema}.records r join ${schema}.streams s on s.id = r.stream_id
       where starts_with(s.name, $1)
       window w as (partition by r.stream_id order by r.seq_num rows unbounded preceding))
     select name, seq_num, end_bytes, expected from r where end_bytes <> expected
     union all
     select s.name, null, s.bytes, max(r.end_bytes) from ${schema}.streams s
       join ${schema}.records r on r.stream_id = s.id
       where starts_with(s.name, $1) group by s.id, s.name, s.bytes having s.bytes <> max(r.end_bytes)`,
    [prefix],
  );
  return rows;
}

/** Appends of every kind, under `prefix`: created by single, batch and multi-stream appends, fences, trims. */
async function appendEveryKind(log: EventLog, prefix: string): Promise<void> {
  const body = (n: number) => 'x'.repeat(n);
  await log.stream(`${prefix}-one`).append([{ body: body(10), headers: [['type', 'a']] }]);
  await log.stream(`${prefix}-one`).append([{ body: body(3) }], { matchSeqNum: 1 });
  await log.stream(`${prefix}-batch`).append([{ body: body(1) }, { body: body(20), headers: [['k', 'vv']] }]);
  await log
    .stream(`${prefix}-batch`)
    .append([{ body: body(5), timestamp: 1 }, { body: body(7) }], { matchSeqNum: 2 });
  await log.stream(`${prefix}-batch`).fence('token-1');
  await log.stream(`${prefix}-batch`).trim(1, { fencingToken: 'token-1' });
  await log.appendMany([
    { stream: `${prefix}-many-a`, records: [{ body: body(4) }, { body: body(9) }] },
    { stream: `${prefix}-many-b`, records: [{ body: body(2) }] },
  ]);
  await log.appendMany([
    { stream: `${prefix}-many-a`, records: [{ body: body(6) }], matchSeqNum: 2 },
    { stream: `${prefix}-many-b`, records: [{ body: body(8) }, { body: body(1) }], matchSeqNum: 1 },
  ]);
  await log.appendMany([{ stream: `${prefix}-many-b`, records: [{ body: body(30) }], matchSeqNum: 3 }], {
    commandId: uniqueName('cmd'),
  });
}

describe('record offsets (end_bytes)', () => {
  it('every kind of append stores where each record ends and the stream total', async () => {
    const prefix = uniqueName('offsets');
    await appendEveryKind(fixture.log, prefix);
    expect(await offsetErrors(fixture.log, prefix)).toEqual([]);
  });

  it('appends racing on the same streams over separate connections leave every offset right', async () => {
    const prefix = uniqueName('race');
    const log = await fixture.connect({ max: 8 });
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        for (let i = 0; i < 25; i++) {
          const n = 1 + ((writer + i) % 4);
          const records = Array.from({ length: n }, (_, k) => ({
            body: 'r'.repeat(1 + ((writer * 7 + i + k) % 30)),
          }));
          if (i % 5 === 4) {
            await log.appendMany([
              { stream: `${prefix}-a`, records },
              { stream: `${prefix}-b`, records: records.slice(0, 1) },
            ]);
          } else await log.stream(`${prefix}-${i % 2 ? 'a' : 'b'}`).append(records);
        }
      }),
    );
    expect(await offsetErrors(log, prefix)).toEqual([]);
  });

  it('a bytes-bounded read from anywhere returns exactly the records that fit, the first one always', async () => {
    const stream = fixture.log.stream(uniqueName('bounded'));
    const sizes = [5, 40, 1, 17, 3, 60, 2, 2, 9];
    await stream.append(sizes.slice(0, 4).map((n) => ({ body: 'b'.repeat(n) })));
    for (let i = 4; i < sizes.length; i++) await stream.append([{ body: 'b'.repeat(sizes[i]!) }]);
    await stream.trim(2);
    await fixture.log.sweep();
    const metered = (n: number) => 8 + n; // no headers
    for (let start = 2; start < sizes.length; start++) {
      // Every boundary: each running total from the start, one byte under it, and one over it.
      const totals = sizes
        .slice(start)
        .map((_, k, rest) => rest.slice(0, k + 1).reduce((a, n) => a + metered(n), 0));
      for (const bytes of [...new Set(totals.flatMap((t) => [t - 1, t, t + 1]))]) {
        const expected: number[] = [];
        let used = 0;
        for (let i = start; i < sizes.length; i++) {
          used += metered(sizes[i]!);
          if (used > bytes && expected.length > 0) break;
          expected.push(i);
        }
        // `count` leaves out the trim record itself.
        const { records } = await stream.read({ seqNum: start, bytes, count: sizes.length - start });
        expect([start, bytes, records.map((r) => r.seqNum)]).toEqual([start, bytes, expected]);
      }
    }
  });

  it('a log written before 0005 and 0006 migrates to one index entry per record and the same offsets', async () => {
    const schema = uniqueSchema('upgrade');
    const prefix = 'kinds';
    const first = await fixture.connect({ schema });
    await appendEveryKind(first, prefix);
    const q = (text: string) => first.pool.query(text);
    // Back to the schema of 0004: the per-record global index, no spans, no offsets.
    await q(`create index records_global on "${schema}".records (commit_key, stream_id, seq_num)`);
    await q(`drop index "${schema}".records_appends`);
    await q(`alter table "${schema}".records drop column span, drop column end_bytes`);
    await q(`alter table "${schema}".streams drop column bytes`);
    await undoLaterMigrations(q, schema);
    await q(`delete from "${schema}".migrations where name in ('0005_append_spans', '0006_record_offsets')`);
    await first.close();

    const again = await fixture.connect({ schema });
    const { rows } = await again.pool.query<{ n: string; firsts: string; global: boolean }>(
      `select count(*) as n, count(span) filter (where span = 1) as firsts,
         to_regclass('"${schema}".records_global') is not null as global from "${schema}".records`,
    );
    expect(rows[0]).toEqual({ n: rows[0]!.n, firsts: rows[0]!.n, global: false });
    expect(await offsetErrors(again, prefix)).toEqual([]);
    await horizonPassed(again);
    const records = (await again.readAll({ count: 1000, filter: { streamPrefix: prefix } })).records;
    expect(records.map((r) => `${r.stream}:${r.seqNum}`).sort()).toEqual(
      (
        await again.pool.query<{ k: string }>(
          `select s.name || ':' || r.seq_num as k from "${schema}".records r join "${schema}".streams s on s.id = r.stream_id
         where r.seq_num >= s.trim_point order by 1`,
        )
      ).rows
        .map((r) => r.k)
        .sort(),
    );
    await again
      .stream(`${prefix}-batch`)
      .append([{ body: 'z' }, { body: 'zz' }], { fencingToken: 'token-1' });
    expect(await offsetErrors(again, prefix)).toEqual([]);
  });

  it("the migration's backfill computes the same offsets as the appends did", async () => {
    const schema = uniqueSchema('backfill');
    const prefix = 'kinds';
    const first = await fixture.connect({ schema });
    await appendEveryKind(first, prefix);
    await first.stream(`${prefix}-one`).trim(1);
    await first.sweep();
    const before = await first.pool.query(
      `select stream_id, seq_num, end_bytes from "${schema}".records order by 1, 2`,
    );
    await first.pool.query(`alter table "${schema}".records drop column end_bytes`);
    await first.pool.query(`alter table "${schema}".streams drop column bytes`);
    await undoLaterMigrations((text) => first.pool.query(text), schema);
    await first.pool.query(`delete from "${schema}".migrations where name = '0006_record_offsets'`);
    await first.close();

    const again = await fixture.connect({ schema });
    expect(await offsetErrors(again, prefix)).toEqual([]);
    const after = await again.pool.query(
      `select stream_id, seq_num, end_bytes from "${schema}".records order by 1, 2`,
    );
    // The same offsets, up to where each stream's surviving records start counting.
    const shift = (rows: { stream_id: string; end_bytes: string }[]) => {
      const base = new Map<string, number>();
      return rows.map((r) => {
        if (!base.has(r.stream_id)) base.set(r.stream_id, Number(r.end_bytes));
        return [r.stream_id, Number(r.end_bytes) - base.get(r.stream_id)!];
      });
    };
    expect(shift(after.rows)).toEqual(shift(before.rows));
    await again.stream(`${prefix}-one`).append([{ body: 'more' }], { matchSeqNum: 3 });
    expect(await offsetErrors(again, prefix)).toEqual([]);
  });
});

/** Undoes the migrations after 0006, so that 0005 and 0006 can run again (Kysely runs migrations in order). */
async function undoLaterMigrations(q: (text: string) => Promise<unknown>, schema: string): Promise<void> {
  await q(`alter table "${schema}".parked_records drop constraint parked_records_pkey,
    add primary key (basin, consumer, stream, seq_num)`);
  await q(`delete from "${schema}".migrations where name = '0008_parked_by_stream_id'`);
}
