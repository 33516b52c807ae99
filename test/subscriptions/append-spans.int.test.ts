import { describe, expect, it } from 'vitest';
import type { GlobalRecord } from '../../src/index.js';
import { horizonPassed } from '../support/horizon.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

/*
 * The global log's index holds one entry per append, its first record, which carries the append's span
 * (migrations/0005_append_spans.sql). These tests hold the storage to that rule through every kind of append
 * and through the sweep, and read the global log across appends of many records in small pages.
 */
const fixture = useEventLog();

const settled = () => horizonPassed(fixture.log);

async function readEverything(streamPrefix: string, count: number): Promise<GlobalRecord[]> {
  const all: GlobalRecord[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fixture.log.readAll({ after: cursor, count, filter: { streamPrefix } });
    all.push(...page.records);
    if (page.records.length === 0) return all;
    cursor = page.cursor;
  }
}

/** Each stored record of the streams under `prefix`: [stream, seqNum, span]. */
async function spans(prefix: string): Promise<[string, number, number | null][]> {
  const { rows } = await fixture.log.pool.query<{ name: string; seq_num: string; span: number | null }>(
    `select s.name, r.seq_num, r.span from "${fixture.log.schema}".records r
     join "${fixture.log.schema}".streams s on s.id = r.stream_id
     where starts_with(s.name, $1) order by s.name, r.seq_num`,
    [prefix],
  );
  return rows.map((r) => [r.name, Number(r.seq_num), r.span]);
}

const bodies = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ body: `${tag}${i}` }));

describe('the global index: one entry per append', () => {
  it('marks the first record of every append with its span: single, batch, several streams, new streams', async () => {
    const p = uniqueName('span');
    await fixture.log.stream(`${p}-a`).append([{ body: 'a0' }]); // creates the stream
    await fixture.log.stream(`${p}-a`).append(bodies(3, 'a'), { matchSeqNum: 1 }); // a batch
    await fixture.log.appendMany([
      { stream: `${p}-a`, records: bodies(2, 'm'), matchSeqNum: 4 },
      { stream: `${p}-b`, records: bodies(1, 'n') }, // created by the append to several streams
    ]);
    await fixture.log.appendMany([
      { stream: `${p}-b`, records: bodies(2, 'o'), matchSeqNum: 1 },
      { stream: `${p}-c`, records: bodies(3, 'q'), matchSeqNum: 0 },
    ]);
    await fixture.log.appendMany([{ stream: `${p}-c`, records: bodies(2, 'r'), matchSeqNum: 3 }]);
    expect(await spans(p)).toEqual([
      [`${p}-a`, 0, 1],
      [`${p}-a`, 1, 3],
      [`${p}-a`, 2, null],
      [`${p}-a`, 3, null],
      [`${p}-a`, 4, 2],
      [`${p}-a`, 5, null],
      [`${p}-b`, 0, 1],
      [`${p}-b`, 1, 2],
      [`${p}-b`, 2, null],
      [`${p}-c`, 0, 3],
      [`${p}-c`, 1, null],
      [`${p}-c`, 2, null],
      [`${p}-c`, 3, 2],
      [`${p}-c`, 4, null],
    ]);
  });

  it('reads appends of many records in pages that end inside them, each record once and in order', async () => {
    const p = uniqueName('pages');
    const a = fixture.log.stream(`${p}-a`);
    const b = fixture.log.stream(`${p}-b`);
    await a.append(bodies(7, 'a'));
    await b.append(bodies(1, 'b'));
    await a.append(bodies(5, 'c'), { matchSeqNum: 7 });
    await b.append(bodies(4, 'd'), { matchSeqNum: 1 });
    await settled();
    const expected = [
      ...bodies(7, 'a').map((r, i) => [`${p}-a`, i, r.body]),
      [`${p}-b`, 0, 'b0'],
      ...bodies(5, 'c').map((r, i) => [`${p}-a`, 7 + i, r.body]),
      ...bodies(4, 'd').map((r, i) => [`${p}-b`, 1 + i, r.body]),
    ];
    for (const count of [1, 2, 3, 5, 1000]) {
      const records = await readEverything(p, count);
      expect(records.map((r) => [r.stream, r.seqNum, r.body])).toEqual(expected);
    }
  });

  it('keeps the rest of an append readable after the sweep deletes its first record under a trim', async () => {
    const p = uniqueName('swept');
    const stream = fixture.log.stream(`${p}-s`);
    await stream.append(bodies(10, 'x')); // seqNums 0–9, one append
    await stream.append([{ body: 'after' }], { matchSeqNum: 10 });
    await stream.trim(4); // the trim record is seqNum 11
    expect(await fixture.log.sweep()).toBeGreaterThanOrEqual(4);
    // The record at the trim point now opens what is left of the append.
    expect((await spans(p)).slice(0, 2)).toEqual([
      [`${p}-s`, 4, 6],
      [`${p}-s`, 5, null],
    ]);
    await settled();
    for (const count of [1, 4, 1000]) {
      const records = await readEverything(p, count);
      expect(records.map((r) => r.seqNum)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    }
  });

  it("counts a consumer's lag from a cursor inside an append, record by record", async () => {
    const basin = uniqueName('lagbasin');
    await fixture.log.basins.create({ basin, config: { createStreamOnAppend: true } });
    const stream = fixture.log.basin(basin).stream('s');
    await stream.append(bodies(10, 'x'));
    await stream.append([{ body: 'y' }], { matchSeqNum: 10 });
    await settled();
    const { records } = await fixture.log.readAll({ basin });
    expect(records.map((r) => r.seqNum)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await fixture.log.consumers.reset('lagger', { basin, to: records[3]!.cursor });
    const [info] = await fixture.log.consumers.list({ basin });
    expect(info).toMatchObject({ name: 'lagger', lag: { records: 7 } });
  });
});
