/**
 * The opt-in exception filter over real HTTP: fencepost errors thrown by a controller come back with the
 * status and body of the one mapping (`httpErrorOf`), with the data a client needs; other errors are left to
 * Nest.
 */
import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AggregateAlreadyExistsError,
  AggregateNotFoundError,
  ConcurrencyConflictError,
  DomainError,
  EventLog,
  FencepostError,
  FencingTokenMismatchError,
  IndefiniteAppendError,
  SeqNumMismatchError,
  StorageError,
} from '../../src/index.js';
import { FencepostExceptionFilter, FencepostModule, httpErrorOf } from '../../src/nest/index.js';
import { createFencepostTestingModule, type FencepostTestingModule } from '../../src/testing/index.js';
import { adminUrl } from '../support/database.js';
import { uniqueName } from '../support/event-log.js';

@Controller('streams')
class StreamsController {
  constructor(@Inject(EventLog) private readonly log: EventLog) {}

  /** Appends with `matchSeqNum: at`: a stale one fails with SeqNumMismatchError from the real log. */
  @Get(':name/append-at/:at')
  async appendAt(@Param('name') name: string, @Param('at') at: string) {
    const ack = await this.log.stream(name).append([{ body: 'x' }], { matchSeqNum: Number(at) });
    return { tail: ack.tail.seqNum };
  }

  /** Reads from seqNum 0 of a stream in a basin that does not exist. */
  @Get('missing-basin')
  async missingBasin() {
    return this.log.basin('no-such-basin').stream('s').read({ seqNum: 0 });
  }

  @Get('invalid')
  async invalid() {
    return this.log.stream('');
  }

  @Get('not-fencepost')
  notFencepost() {
    throw new NotFoundException('plain Nest error');
  }

  @Get('unknown-code')
  unknownCode() {
    throw new FencepostError('something_new', 'a code the mapping does not know');
  }
}

let testing: FencepostTestingModule;
let base: string;

beforeAll(async () => {
  testing = await createFencepostTestingModule(
    {
      imports: [FencepostModule.forRoot()],
      controllers: [StreamsController],
      providers: [{ provide: APP_FILTER, useClass: FencepostExceptionFilter }],
    },
    { adminUrl: adminUrl(), app: true, fencepost: { sweepIntervalMs: 0 } },
  );
  await testing.app!.listen(0, '127.0.0.1');
  base = await testing.app!.getUrl();
});

afterAll(async () => {
  await testing?.close();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('FencepostExceptionFilter', () => {
  it('answers a failed matchSeqNum with 412 and the expected seqNum', async () => {
    const name = uniqueName();
    expect(await get(`/streams/${name}/append-at/0`)).toMatchObject({ status: 200, body: { tail: 1 } });
    const stale = await get(`/streams/${name}/append-at/0`);
    expect(stale).toEqual({
      status: 412,
      body: {
        statusCode: 412,
        code: 'seq_num_mismatch',
        message: expect.stringContaining('matchSeqNum 0'),
        expectedSeqNum: 1,
      },
    });
  });

  it('answers a missing basin with 404 naming it, and bad input with 400', async () => {
    expect(await get('/streams/missing-basin')).toMatchObject({
      status: 404,
      body: { code: 'basin_not_found', basin: 'no-such-basin' },
    });
    expect(await get('/streams/invalid')).toMatchObject({ status: 400, body: { code: 'invalid' } });
  });

  it('leaves other errors to Nest and maps unknown fencepost codes to 500', async () => {
    expect(await get('/streams/not-fencepost')).toMatchObject({
      status: 404,
      body: { message: 'plain Nest error' },
    });
    expect(await get('/streams/unknown-code')).toMatchObject({
      status: 500,
      body: { code: 'something_new' },
    });
  });
});

describe('httpErrorOf', () => {
  it('keeps the error data and drops the stack and cause', () => {
    const error = new SeqNumMismatchError(7, 5);
    const { status, body } = httpErrorOf(error);
    expect(status).toBe(412);
    expect(Object.keys(body).sort()).toEqual(['code', 'expectedSeqNum', 'message', 'statusCode']);
  });

  it('maps each kind of error to its status', () => {
    class Overdrawn extends DomainError {
      constructor(readonly balance: number) {
        super('invalid', 'a domain error whose code happens to be a log code'); // still a 409
      }
    }
    const cases: [FencepostError, number, Record<string, unknown>][] = [
      [new FencingTokenMismatchError('b', 'a'), 412, { expectedFencingToken: 'b' }],
      [new AggregateNotFoundError('account', '7', 'account-7'), 404, { id: '7', stream: 'account-7' }],
      [new AggregateAlreadyExistsError('account', '7', 'account-7', 3), 409, { version: 3 }],
      [
        new ConcurrencyConflictError(10, 'account-7', { cause: new SeqNumMismatchError(5, 4) }),
        409,
        { attempts: 10 },
      ],
      [new IndefiniteAppendError({ cause: new Error('reset') }), 503, { indefinite: true }],
      [new StorageError('lost', { connectionLost: true }), 503, { code: 'storage' }],
      [new StorageError('refused: relation "x" does not exist'), 500, { message: 'internal server error' }],
      [new Overdrawn(12), 409, { code: 'invalid', balance: 12 }],
    ];
    for (const [error, status, data] of cases) {
      const mapped = httpErrorOf(error);
      expect(mapped.status, error.name).toBe(status);
      expect(mapped.body, error.name).toMatchObject({ statusCode: status, ...data });
      expect(mapped.body).not.toHaveProperty('cause');
      if (status >= 500) expect(mapped.body.message).not.toMatch(/relation|reset|lost/);
    }
  });
});
