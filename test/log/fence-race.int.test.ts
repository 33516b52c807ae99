import { describe, expect, it } from 'vitest';
import { FencingTokenMismatchError, SeqNumMismatchError } from '../../src/index.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog({ max: 20 });

describe('fencing under concurrency', () => {
  it('lands exactly one of two fences racing at the same matchSeqNum', async () => {
    const stream = fixture.log.stream(uniqueName('fence-race'));
    await stream.append([{ body: 'genesis' }]);
    for (let round = 0; round < 30; round++) {
      const tail = await stream.checkTail();
      const results = await Promise.allSettled([
        stream.fence(`a-${round}`, { matchSeqNum: tail.seqNum }),
        stream.fence(`b-${round}`, { matchSeqNum: tail.seqNum }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(SeqNumMismatchError);
      const winner = results[0]!.status === 'fulfilled' ? `a-${round}` : `b-${round}`;
      const loser = winner.startsWith('a') ? `b-${round}` : `a-${round}`;
      await expect(stream.append([{ body: 'x' }], { fencingToken: loser })).rejects.toMatchObject({
        expectedFencingToken: winner,
      });
      await stream.append([{ body: 'by the winner' }], { fencingToken: winner });
    }
  });

  it('rejects the old owner from the first append ordered after the fence', async () => {
    const stream = fixture.log.stream(uniqueName('fence-old-owner'));
    await stream.fence('old');
    let stop = false;
    let rejected: unknown;
    // The old owner appends as fast as it can, from several connections, until it is fenced out.
    const oldOwner = Promise.all(
      Array.from({ length: 4 }, async (_, lane) => {
        for (let i = 0; !stop; i++) {
          try {
            await stream.append([{ body: `old ${lane}-${i}` }], { fencingToken: 'old' });
          } catch (error) {
            rejected = error;
            stop = true;
          }
        }
      }),
    );
    // Fence as soon as the old owner has written something.
    const deadline = Date.now() + 10_000;
    while ((await stream.checkTail()).seqNum < 20 && Date.now() < deadline)
      await new Promise((r) => setImmediate(r));
    const fenceAck = await stream.fence('new');
    await expect(stream.append([{ body: 'late' }], { fencingToken: 'old' })).rejects.toBeInstanceOf(
      FencingTokenMismatchError,
    );
    await oldOwner;
    expect(rejected).toBeInstanceOf(FencingTokenMismatchError);
    expect((rejected as FencingTokenMismatchError).expectedFencingToken).toBe('new');
    const records = [];
    for await (const record of stream.readSession({ seqNum: 0 })) records.push(record);
    const after = records.filter((r) => r.seqNum > fenceAck.start.seqNum);
    expect(after.filter((r) => r.body.startsWith('old'))).toEqual([]);
  });

  it('never fences an append that carries no token', async () => {
    const stream = fixture.log.stream(uniqueName('unfenced'));
    await stream.fence('owner');
    const ack = await stream.append([{ body: 'no token' }]);
    expect(ack.start.seqNum).toBe(1);
  });
});
