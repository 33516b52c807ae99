import { describe, expect, it } from 'vitest';
import { StreamNotFoundError } from '../../src/index.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();
const basin = () => fixture.log.basin('default-basin');

describe('retention and deleteOnEmpty, applied by the sweep', () => {
  it('trims records older than the retention age, by their timestamps', async () => {
    const name = uniqueName('retained');
    await basin().streams.create({ stream: name, config: { retentionPolicy: { age: 60 } } });
    const stream = fixture.log.stream(name);
    const old = Date.now() - 10 * 60_000;
    await stream.append([
      { body: 'old 0', timestamp: old },
      { body: 'old 1', timestamp: old + 1 },
    ]);
    await stream.append([{ body: 'fresh' }]);
    await fixture.log.sweep();
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.body)).toEqual(['fresh']);
    expect((await stream.checkTail()).seqNum).toBe(3);
  });

  it('keeps every record of a stream with infinite retention', async () => {
    const name = uniqueName('kept');
    await basin().streams.create({ stream: name, config: { retentionPolicy: { infinite: {} } } });
    const stream = fixture.log.stream(name);
    await stream.append([{ body: 'ancient', timestamp: 1 }]);
    await fixture.log.sweep();
    expect((await stream.read({ seqNum: 0 })).records.map((r) => r.body)).toEqual(['ancient']);
  });

  /** Makes a stream look created an hour ago. */
  const age = (name: string) =>
    fixture.log.pool.query(
      `update "${fixture.log.schema}".streams set created_at = clock_timestamp() - interval '1 hour'
       where name = $1`,
      [name],
    );

  it('deletes a stream that has been empty for its deleteOnEmpty age, and leaves one with records', async () => {
    const empty = uniqueName('empty');
    const full = uniqueName('full');
    await basin().streams.create({ stream: empty, config: { deleteOnEmpty: { minAgeSecs: 60 } } });
    await basin().streams.create({ stream: full, config: { deleteOnEmpty: { minAgeSecs: 60 } } });
    await fixture.log.stream(full).append([{ body: 'here', timestamp: Date.now() - 3_600_000 }]);
    await age(empty);
    await age(full);
    await fixture.log.sweep();
    await expect(fixture.log.stream(empty).checkTail()).rejects.toBeInstanceOf(StreamNotFoundError);
    expect((await fixture.log.stream(full).checkTail()).seqNum).toBe(1);
  });

  it('takes a deleteOnEmpty age of 0 as off, as S2 does', async () => {
    const name = uniqueName('off');
    await basin().streams.create({ stream: name, config: { deleteOnEmpty: { minAgeSecs: 0 } } });
    await age(name);
    await fixture.log.sweep();
    expect((await fixture.log.stream(name).checkTail()).seqNum).toBe(0);
  });

  it('does not delete an empty stream younger than its deleteOnEmpty age', async () => {
    const name = uniqueName('young');
    await basin().streams.create({ stream: name, config: { deleteOnEmpty: { minAgeSecs: 3600 } } });
    await fixture.log.sweep();
    expect((await fixture.log.stream(name).checkTail()).seqNum).toBe(0);
  });
});
