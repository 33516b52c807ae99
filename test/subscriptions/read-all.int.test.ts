import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, type GlobalRecord } from '../../src/index.js';
import { rejectionOf } from '../support/assertions.js';
import { horizonPassed } from '../support/horizon.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

const settled = () => horizonPassed(fixture.log);

/** Every record of the basin after `after` under `filter`, in pages of `count`. */
async function readEverything(
  options: {
    count?: number;
    filter?: Parameters<typeof fixture.log.readAll>[0] extends infer O ? O : never;
  } = {},
): Promise<GlobalRecord[]> {
  const all: GlobalRecord[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fixture.log.readAll({
      ...(options.filter as object),
      after: cursor,
      count: options.count,
    });
    all.push(...page.records);
    if (page.records.length === 0) return all;
    cursor = page.cursor;
  }
}

describe('readAll', () => {
  it('reads every stream of the basin in commit order, in pages that continue from their cursor', async () => {
    const prefix = uniqueName('all');
    const names = [0, 1, 2].map((i) => `${prefix}-${i}`);
    for (let round = 0; round < 4; round++) {
      for (const name of names) await fixture.log.stream(name).append([{ body: `${name}:${round}` }]);
    }
    await fixture.log.stream(names[0]!).append([{ body: 'x' }, { body: 'y' }]);
    await settled();
    const records = await readEverything({ count: 3, filter: { filter: { streamPrefix: prefix } } });
    const expected = [0, 1, 2, 3].flatMap((round) => names.map((n) => `${n}:${round}`));
    expect(records.map((r) => r.body)).toEqual([...expected, 'x', 'y']);
    expect(records.at(-1)).toMatchObject({ basin: 'default-basin', stream: names[0], seqNum: 5 });
    expect(new Set(records.map((r) => r.cursor)).size).toBe(records.length);
  });

  it('filters by stream-name prefix and by header in the database, including headers stored as bytes', async () => {
    const prefix = uniqueName('filter');
    await fixture.log.stream(`${prefix}-orders-1`).append([
      { body: 'placed', headers: [['type', 'OrderPlaced']] },
      { body: 'paid', headers: [['type', 'OrderPaid']] },
    ]);
    await fixture.log
      .stream(`${prefix}-users-1`)
      .append([{ body: 'joined', headers: [['type', 'UserJoined']] }]);
    // A header value that is not UTF-8 makes the batch's headers stored as bytes.
    await fixture.log.stream(`${prefix}-orders-2`).append([
      {
        body: 'placed-2',
        headers: [
          ['type', 'OrderPlaced'],
          ['raw', new Uint8Array([0xff, 0x00])],
        ],
      },
    ]);
    await settled();
    const orders = await fixture.log.readAll({ filter: { streamPrefix: `${prefix}-orders-` } });
    expect(orders.records.map((r) => r.body)).toEqual(['placed', 'paid', 'placed-2']);
    expect(orders.records.slice(0, 2).map((r) => r.headers)).toEqual([
      [['type', 'OrderPlaced']],
      [['type', 'OrderPaid']],
    ]);
    const asBytes = await fixture.log.readAll({
      filter: { streamPrefix: `${prefix}-orders-2` },
      as: 'bytes',
    });
    expect(asBytes.records.map((r) => r.headers)).toEqual([
      [
        [Buffer.from('type'), Buffer.from('OrderPlaced')],
        [Buffer.from('raw'), Buffer.from([0xff, 0x00])],
      ],
    ]);
    const placed = await fixture.log.readAll({
      filter: { streamPrefix: prefix, header: { name: 'type', values: ['OrderPlaced', 'UserJoined'] } },
    });
    expect(placed.records.map((r) => r.body)).toEqual(['placed', 'joined', 'placed-2']);
    const none = await fixture.log.readAll({
      filter: { streamPrefix: prefix, header: { name: 'kind', values: ['OrderPlaced'] } },
    });
    expect(none.records).toEqual([]);
  });

  it('keeps to its basin, and leaves out records below a stream trim point', async () => {
    const basin = uniqueName('basin');
    await fixture.log.basins.create({ basin, config: { createStreamOnAppend: true } });
    await fixture.log
      .basin(basin)
      .stream('only-here')
      .append([{ body: 'elsewhere' }]);
    const name = uniqueName('trimmed');
    const stream = fixture.log.stream(name);
    await stream.append([{ body: 'r0' }, { body: 'r1' }, { body: 'r2' }]);
    await stream.trim(2);
    await settled();
    const mine = await fixture.log.readAll({ filter: { streamPrefix: name } });
    expect(mine.records.map((r) => r.seqNum)).toEqual([2, 3]); // r2 and the trim record itself
    const other = await fixture.log.readAll({ basin });
    expect(other.records.map((r) => [r.basin, r.stream, r.body])).toEqual([
      [basin, 'only-here', 'elsewhere'],
    ]);
  });

  it('moves its cursor past records its filter skipped, so the next read does not scan them again', async () => {
    const prefix = uniqueName('skip');
    await fixture.log.stream(`${prefix}-a`).append([{ body: 'a' }]);
    await settled();
    const first = await fixture.log.readAll({ filter: { streamPrefix: `${prefix}-none` } });
    expect(first.records).toEqual([]);
    const after = await fixture.log.readAll({ after: first.cursor, filter: { streamPrefix: prefix } });
    expect(after.records).toEqual([]);
    await fixture.log.stream(`${prefix}-b`).append([{ body: 'b' }]);
    await settled();
    const later = await fixture.log.readAll({ after: first.cursor, filter: { streamPrefix: prefix } });
    expect(later.records.map((r) => r.body)).toEqual(['b']);
  });

  it('refuses a bad cursor, count or filter before reading, naming the rule and the value', async () => {
    const bad = [
      [{ after: 'nope' }, /cursor returned by fencepost.*"nope"/],
      [{ count: 0 }, /count must be an integer from 1 to 10000; got 0/],
      [{ count: 10_001 }, /got 10001/],
      [{ filter: { streamPrefix: '' } }, /filter: streamPrefix/],
      [{ filter: { header: { name: 'type', values: [] } } }, /filter: header.values/],
      [{ filter: { colour: 'red' } }, /filter: \(root\)|colour/],
      [{ basin: 'Bad Basin' }, /basin/],
    ] as const;
    for (const [options, message] of bad) {
      const error = await rejectionOf(fixture.log.readAll(options as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
    }
    expect(() => fixture.log.followAll({ after: 'g1.x' })).toThrow(InvalidArgumentError);
  });
});
