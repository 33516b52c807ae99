import { describe, expect, it } from 'vitest';
import { ClosedError, InvalidArgumentError, SeqNumMismatchError } from '../../src/index.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

describe('append sessions', () => {
  it('applies and acknowledges batches in submission order, coalescing them', async () => {
    const stream = fixture.log.stream(uniqueName('session'));
    const session = stream.appendSession();
    const acks = Array.from({ length: 3000 }, (_, i) =>
      session.submit([{ body: `r${i}`, headers: [['n', String(i)]] }], { matchSeqNum: i }),
    );
    await session.close();
    const settled = await Promise.all(acks);
    settled.forEach((ack, i) => {
      expect(ack.start.seqNum).toBe(i);
      expect(ack.end.seqNum).toBe(i + 1);
      expect(ack.end.timestamp).toBeGreaterThanOrEqual(ack.start.timestamp);
    });
    for (let i = 1; i < settled.length; i++) {
      expect(settled[i]!.start.timestamp).toBeGreaterThanOrEqual(settled[i - 1]!.end.timestamp);
    }
    let n = 0;
    for await (const record of stream.readSession({ seqNum: 0 })) {
      expect(record.body).toBe(`r${n}`);
      expect(record.headers).toEqual([['n', String(n)]]);
      n++;
    }
    expect(n).toBe(3000);
  });

  it('gives batches of several records their own acks', async () => {
    const stream = fixture.log.stream(uniqueName('session-multi'));
    const session = stream.appendSession();
    const sizes = [3, 1, 7, 2];
    const acks = sizes.map((size) => session.submit(Array.from({ length: size }, () => ({ body: 'x' }))));
    await session.close();
    const settled = await Promise.all(acks);
    expect(settled.map((a) => [a.start.seqNum, a.end.seqNum])).toEqual([
      [0, 3],
      [3, 4],
      [4, 11],
      [11, 13],
    ]);
  });

  it('is poisoned by the first failure: later batches are rejected with it and none is applied', async () => {
    const stream = fixture.log.stream(uniqueName('poisoned'));
    const session = stream.appendSession();
    const results = await Promise.allSettled([
      session.submit([{ body: '0' }], { matchSeqNum: 0 }),
      session.submit([{ body: '1' }], { matchSeqNum: 1 }),
      session.submit([{ body: 'wrong' }], { matchSeqNum: 7 }),
      session.submit([{ body: '3' }], { matchSeqNum: 3 }),
      session.submit([{ body: '4' }]),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
    ]);
    const failure = (results[2] as PromiseRejectedResult).reason as SeqNumMismatchError;
    expect(failure).toBeInstanceOf(SeqNumMismatchError);
    expect(failure.expectedSeqNum).toBe(2);
    expect((results[3] as PromiseRejectedResult).reason).toBe(failure);
    expect((results[4] as PromiseRejectedResult).reason).toBe(failure);
    await expect(session.submit([{ body: 'after' }])).rejects.toBe(failure);
    await expect(session.close()).rejects.toBe(failure);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 2 });
  });

  it('applies batches submitted before an invalid one and refuses the rest', async () => {
    const stream = fixture.log.stream(uniqueName('invalid-in-session'));
    const session = stream.appendSession();
    const results = await Promise.allSettled([
      session.submit([{ body: 'a' }]),
      session.submit([{ body: 'b' }]),
      session.submit([]),
      session.submit([{ body: 'c' }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidArgumentError);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 2 });
  });

  it('does not merge a batch whose condition does not follow from the one before it', async () => {
    const stream = fixture.log.stream(uniqueName('fenced-session'));
    await stream.append([{ body: 'seed' }]);
    const session = stream.appendSession();
    const results = await Promise.allSettled([
      session.submit([{ body: 'a' }]),
      session.submit([{ headers: [['', 'fence']], body: 'me' }]),
      session.submit([{ body: 'fenced in' }], { fencingToken: 'me' }),
      session.submit([{ body: 'stale' }], { fencingToken: 'someone else' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ expectedFencingToken: 'me' });
    expect(await stream.checkTail()).toMatchObject({ seqNum: 4 });
  });

  it('applies a batch submitted once the one before was acknowledged, and close() waits for it', async () => {
    const stream = fixture.log.stream(uniqueName('one-by-one'));
    const session = stream.appendSession();
    for (let i = 0; i < 5; i++) {
      const ack = await session.submit([{ body: `r${i}` }], { matchSeqNum: i });
      expect(ack.start.seqNum).toBe(i);
    }
    // Submitted in the ack's own continuation, before the pump has wound down.
    const chained = session.submit([{ body: 'r5' }]).then(() => session.submit([{ body: 'r6' }]));
    expect((await chained).start.seqNum).toBe(6);
    // close() waits for a batch in flight.
    const last = session.submit([{ body: 'r7' }]);
    await session.close();
    expect(await Promise.race([last, 'still pending'])).toMatchObject({ start: { seqNum: 7 } });
    expect(await stream.checkTail()).toMatchObject({ seqNum: 8 });
  });

  it('rejects every batch after the first failure with that failure, also one submitted after an invalid one', async () => {
    const stream = fixture.log.stream(uniqueName('first-failure'));
    await stream.append([{ body: 'seed' }]);
    const session = stream.appendSession();
    const results = await Promise.allSettled([
      session.submit([{ body: 'stale' }], { matchSeqNum: 0 }), // fails on the server: the first failure
      session.submit([]), // invalid, refused at submission, but after the one above
      session.submit([{ body: 'after' }]),
    ]);
    const first = (results[0] as PromiseRejectedResult).reason as Error;
    expect(first).toMatchObject({ expectedSeqNum: 1 });
    expect(results.map((r) => (r as PromiseRejectedResult).reason)).toEqual([first, first, first]);
    await expect(session.close()).rejects.toBe(first);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
  });

  it('refuses batches after close', async () => {
    const session = fixture.log.stream(uniqueName('closed-session')).appendSession();
    await session.submit([{ body: 'a' }]);
    await session.close();
    await expect(session.submit([{ body: 'b' }])).rejects.toBeInstanceOf(ClosedError);
  });
});
