/**
 * The fencepost log in two minutes: `npm start`.
 *
 * Creates a stream, appends to it conditionally, hands it to a new writer with a fence, shows the old
 * writer's stale appends being refused with structured errors, and reads everything back.
 */
import {
  EventLog,
  FencingTokenMismatchError,
  SeqNumMismatchError,
  type AppendAck,
  type SequencedRecord,
} from '../../src/index.js';
import { startExampleDatabase } from '../support/database.js';

const database = await startExampleDatabase();
const log = await EventLog.connect({ connectionString: database.connectionString });
try {
  // A fresh stream per run, so the example can run again and again on the same database.
  const name = `orders-${Date.now()}`;
  const stream = log.stream(name);
  const say = (text: string) => console.log(`\n${text}`);
  const position = (ack: AppendAck) =>
    `seqNum ${ack.start.seqNum}..${ack.end.seqNum - 1}, tail now ${ack.tail.seqNum}`;

  say(
    `1. Appending the first two events to the new stream "${name}", expecting it to be empty (matchSeqNum 0).`,
  );
  const first = await stream.append(
    [
      {
        body: JSON.stringify({ orderId: 42, item: 'fencepost', quantity: 3 }),
        headers: [['type', 'OrderPlaced']],
      },
      { body: JSON.stringify({ orderId: 42, amount: 2700 }), headers: [['type', 'PaymentReceived']] },
    ],
    { matchSeqNum: 0 },
  );
  console.log(`   Committed as one atomic batch: ${position(first)}.`);

  say(
    '2. Writer A appends with a stale matchSeqNum (0 again): the log refuses it and says where the tail is.',
  );
  await stream
    .append([{ body: '{"orderId":42}', headers: [['type', 'OrderCancelled']] }], { matchSeqNum: 0 })
    .catch((error: unknown) => {
      if (!(error instanceof SeqNumMismatchError)) throw error;
      console.log(`   ${error.name} (code "${error.code}"): expectedSeqNum = ${error.expectedSeqNum}.`);
    });

  say('3. Writer B takes over the stream: it fences it with its token "writer-b" at the tail it read.');
  const tail = await stream.checkTail();
  const fence = await stream.fence('writer-b', { matchSeqNum: tail.seqNum });
  console.log(`   The fence is a command record too: ${position(fence)}.`);

  say('4. Writer A, still holding the old token "writer-a", tries to append: it is fenced out.');
  await stream
    .append([{ body: '{"orderId":42}', headers: [['type', 'OrderShipped']] }], { fencingToken: 'writer-a' })
    .catch((error: unknown) => {
      if (!(error instanceof FencingTokenMismatchError)) throw error;
      console.log(
        `   ${error.name} (code "${error.code}"): expectedFencingToken = "${error.expectedFencingToken}". Nothing was written.`,
      );
    });

  say('5. Writer B appends with its token and the tail it expects.');
  const shipped = await stream.append([{ body: '{"orderId":42}', headers: [['type', 'OrderShipped']] }], {
    fencingToken: 'writer-b',
    matchSeqNum: fence.end.seqNum,
  });
  console.log(`   Accepted: ${position(shipped)}.`);

  say('6. Reading the stream back from seqNum 0, in order:');
  const { records } = await stream.read({ seqNum: 0 });
  for (const record of records) console.log(`   ${describe(record)}`);

  say(
    `Done. The stream "${name}" holds ${records.length} records; the two stale appends left no trace.\n` +
      'Next: the README shows the whole log API, and `npm test` runs the test suite.',
  );
} finally {
  await log.close();
  await database.stop();
}

function describe(record: SequencedRecord): string {
  const [name, value] = record.headers[0] ?? ['', ''];
  const what = name === '' ? `command "${value}"` : `${name}=${value}`;
  return `#${record.seqNum}  ${new Date(record.timestamp).toISOString()}  ${what.padEnd(22)} ${record.body}`;
}
