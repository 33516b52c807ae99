/**
 * The bank-account example end to end over HTTP: the Nest app from `examples/bank-account` on port 0, on its
 * own database. Opens, deposits, refuses an overdraft with 409 and the balance (appending nothing), moves
 * money exactly once when one Idempotency-Key is sent many times at once, never half-transfers, and answers
 * bad amounts with 400 and unknown ids with 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BankModule } from '../../examples/bank-account/bank.module.js';
import { createFencepostTestingModule, type FencepostTestingModule } from '../../src/testing/index.js';
import { adminUrl } from '../support/database.js';
import { uniqueName } from '../support/event-log.js';

let testing: FencepostTestingModule;
let base: string;

beforeAll(async () => {
  testing = await createFencepostTestingModule(
    { imports: [BankModule.forRoot()] },
    { adminUrl: adminUrl(), app: true, fencepost: { schema: 'bank', sweepIntervalMs: 0 } },
  );
  await testing.app!.listen(0, '127.0.0.1');
  base = await testing.app!.getUrl();
});

afterAll(async () => {
  await testing?.close();
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, path: string, body?: unknown, key?: string): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function open(owner: string, balance = 0): Promise<string> {
  const opened = await call('POST', '/accounts', { owner });
  expect(opened.status).toBe(201);
  const id = opened.body.id as string;
  if (balance > 0)
    expect((await call('POST', `/accounts/${id}/deposit`, { amount: balance })).status).toBe(200);
  return id;
}

describe('accounts', () => {
  it('opens an account, deposits, and reads it back', async () => {
    const opened = await call('POST', '/accounts', { owner: 'Ada' });
    expect(opened).toMatchObject({ status: 201, body: { id: expect.any(String), balance: 0, version: 1 } });
    const id = opened.body.id as string;
    expect(await call('POST', `/accounts/${id}/deposit`, { amount: 10_000 })).toEqual({
      status: 200,
      body: { id, owner: 'Ada', balance: 10_000, version: 2 },
    });
    expect(await call('GET', `/accounts/${id}`)).toEqual({
      status: 200,
      body: { id, owner: 'Ada', balance: 10_000, version: 2 },
    });
  });

  it('opens one account per Idempotency-Key, however often the request is repeated', async () => {
    const key = uniqueName('open');
    const replies = await Promise.all(
      [1, 2, 3, 4].map(() => call('POST', '/accounts', { owner: 'Bob' }, key)),
    );
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect(await call('GET', `/accounts/${replies[0]!.body.id as string}`)).toMatchObject({
      body: { owner: 'Bob', version: 1 },
    });
  });

  it('refuses an overdraft with 409 and the balance, appending nothing', async () => {
    const id = await open('Cy', 500);
    expect(await call('POST', `/accounts/${id}/withdraw`, { amount: 501 })).toMatchObject({
      status: 409,
      body: { code: 'insufficient_funds', balance: 500, amount: 501 },
    });
    expect(await call('GET', `/accounts/${id}`)).toMatchObject({ body: { balance: 500, version: 2 } });
    expect(await call('POST', `/accounts/${id}/withdraw`, { amount: 500 })).toMatchObject({
      status: 200,
      body: { balance: 0, version: 3 },
    });
  });

  it('lets racing withdrawals take the balance at most once (the losers retry on the new balance)', async () => {
    const id = await open('Di', 100);
    const replies = await Promise.all(
      [1, 2, 3, 4, 5].map(() => call('POST', `/accounts/${id}/withdraw`, { amount: 30 })),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 409, 409]);
    expect(await call('GET', `/accounts/${id}`)).toMatchObject({ body: { balance: 10, version: 5 } });
  });

  it('deposits once per Idempotency-Key', async () => {
    const id = await open('Ed');
    const key = uniqueName('deposit');
    const first = await call('POST', `/accounts/${id}/deposit`, { amount: 700 }, key);
    const again = await call('POST', `/accounts/${id}/deposit`, { amount: 700 }, key);
    expect(again).toEqual(first);
    expect(await call('GET', `/accounts/${id}`)).toMatchObject({ body: { balance: 700, version: 2 } });
  });
});

describe('a reused Idempotency-Key', () => {
  it('with a different request is refused with 422, and nothing is done', async () => {
    const key = uniqueName('reuse');
    const opened = await call('POST', '/accounts', { owner: 'Lu' }, key);
    expect(await call('POST', '/accounts', { owner: 'Someone else' }, key)).toMatchObject({
      status: 422,
      body: { code: 'idempotency_key_reused' },
    });
    const id = opened.body.id as string;
    expect((await call('POST', `/accounts/${id}/deposit`, { amount: 100 }, key)).status).toBe(200);
    expect(await call('POST', `/accounts/${id}/deposit`, { amount: 999 }, key)).toMatchObject({
      status: 422,
      body: { code: 'idempotency_key_reused', message: expect.stringContaining(key) },
    });
    expect((await call('POST', `/accounts/${id}/withdraw`, { amount: 10 }, key)).status).toBe(200);
    expect((await call('POST', `/accounts/${id}/withdraw`, { amount: 20 }, key)).status).toBe(422);
    const other = await open('Mo');
    expect((await call('POST', '/transfers', { from: id, to: other, amount: 5 }, key)).status).toBe(200);
    expect((await call('POST', '/transfers', { from: id, to: other, amount: 6 }, key)).status).toBe(422);
    expect(await call('GET', `/accounts/${id}`)).toMatchObject({ body: { balance: 85, version: 4 } });
    expect(await call('GET', `/accounts/${other}`)).toMatchObject({ body: { balance: 5, version: 2 } });
  });
});

describe('transfers', () => {
  it('moves the money exactly once when one Idempotency-Key is sent many times at once', async () => {
    const [from, to] = [await open('Fay', 1_000), await open('Gus', 0)];
    const key = uniqueName('transfer');
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => call('POST', '/transfers', { from, to, amount: 300 }, key)),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(replies.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    for (const reply of replies) {
      expect(reply.body).toMatchObject({
        transferId: key,
        amount: 300,
        from: { id: from, balance: 700, version: 3 },
        to: { id: to, balance: 300, version: 2 },
      });
    }
    expect(await call('GET', `/accounts/${from}`)).toMatchObject({ body: { balance: 700, version: 3 } });
    expect(await call('GET', `/accounts/${to}`)).toMatchObject({ body: { balance: 300, version: 2 } });
  });

  it('refuses a key used for a transfer between other accounts with 422, moving nothing', async () => {
    const [a, b, c, d] = [
      await open('Ann', 100),
      await open('Ben', 0),
      await open('Cy', 100),
      await open('Di', 0),
    ];
    const key = uniqueName('transfer-key');
    expect((await call('POST', '/transfers', { from: a, to: b, amount: 40 }, key)).status).toBe(200);
    expect(await call('POST', '/transfers', { from: c, to: d, amount: 40 }, key)).toMatchObject({
      status: 422,
      body: { code: 'idempotency_key_reused' },
    });
    expect(await call('POST', '/transfers', { from: a, to: b, amount: 40 }, key)).toMatchObject({
      status: 200,
      body: { duplicate: true, from: { id: a, balance: 60 }, to: { id: b, balance: 40 } },
    });
    expect(await call('GET', `/accounts/${c}`)).toMatchObject({ body: { balance: 100, version: 2 } });
    expect(await call('GET', `/accounts/${d}`)).toMatchObject({ body: { balance: 0, version: 1 } });
  });

  it('keeps the total when transfers race in both directions, and never overdraws', async () => {
    const [a, b] = [await open('Nia', 500), await open('Oz', 500)];
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        call(
          'POST',
          '/transfers',
          i % 2 === 0 ? { from: a, to: b, amount: 90 } : { from: b, to: a, amount: 70 },
        ),
      ),
    );
    for (const reply of replies) expect([200, 409], JSON.stringify(reply.body)).toContain(reply.status);
    const moved = replies.filter((r) => r.status === 200).length;
    const [left, right] = [await call('GET', `/accounts/${a}`), await call('GET', `/accounts/${b}`)];
    const [balanceA, balanceB] = [left.body.balance as number, right.body.balance as number];
    expect(balanceA + balanceB).toBe(1000);
    expect(Math.min(balanceA, balanceB)).toBeGreaterThanOrEqual(0);
    // Each successful transfer left one event on each account (after the open and the first deposit).
    expect((left.body.version as number) + (right.body.version as number)).toBe(4 + 2 * moved);
  });

  it('is never half done: a refused transfer changes neither account', async () => {
    const [from, to] = [await open('Hal', 100), await open('Ivy', 50)];
    expect(await call('POST', '/transfers', { from, to, amount: 101 })).toMatchObject({
      status: 409,
      body: { code: 'insufficient_funds', balance: 100 },
    });
    const missing = uniqueName('nobody');
    expect(await call('POST', '/transfers', { from, to: missing, amount: 10 })).toMatchObject({
      status: 404,
      body: { code: 'aggregate_not_found', id: missing },
    });
    expect(await call('GET', `/accounts/${from}`)).toMatchObject({ body: { balance: 100, version: 2 } });
    expect(await call('GET', `/accounts/${to}`)).toMatchObject({ body: { balance: 50, version: 2 } });
  });

  it('refuses a transfer to the same account with 400', async () => {
    const id = await open('Jo', 10);
    expect(await call('POST', '/transfers', { from: id, to: id, amount: 1 })).toMatchObject({
      status: 400,
      body: { code: 'invalid', message: expect.stringContaining('two different accounts') },
    });
  });
});

describe('bad requests', () => {
  it('answers amounts that are not positive integer cents with 400 naming the value', async () => {
    const id = await open('Kim', 100);
    for (const amount of [0, -5, 12.5, '100', null, 2 ** 53, undefined]) {
      const body = amount === undefined ? {} : { amount };
      for (const path of [`/accounts/${id}/deposit`, `/accounts/${id}/withdraw`]) {
        const reply = await call('POST', path, body);
        expect(reply.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect(reply.body.message).toMatch(/amount: must be a positive integer number of cents/);
        expect(reply.body.message).toContain(
          amount === undefined ? 'got undefined' : `got ${JSON.stringify(amount)}`,
        );
      }
      expect((await call('POST', '/transfers', { from: id, to: 'other', ...body })).status).toBe(400);
    }
    expect(await call('GET', `/accounts/${id}`)).toMatchObject({ body: { balance: 100, version: 2 } });
  });

  it('answers an empty owner and a malformed id with 400', async () => {
    expect(await call('POST', '/accounts', { owner: '' })).toMatchObject({
      status: 400,
      body: { code: 'invalid' },
    });
    expect(await call('POST', '/accounts', {})).toMatchObject({ status: 400 });
    expect(await call('GET', '/accounts/not%20an%20id')).toMatchObject({
      status: 400,
      body: { code: 'invalid' },
    });
  });

  it('answers a body that is not JSON with 415 naming its content type, and does nothing', async () => {
    const id = await open('Lee', 100);
    for (const [path, type] of [
      [`/accounts/${id}/deposit`, 'text/plain'],
      [`/accounts/${id}/withdraw`, 'application/x-www-form-urlencoded'],
      ['/transfers', 'text/plain;charset=UTF-8'],
      ['/accounts', 'text/plain'],
    ] as const) {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: JSON.stringify({ amount: 5, owner: 'Lee', from: id, to: 'other' }),
      });
      expect(response.status, path).toBe(415);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ code: 'unsupported_media_type' });
      expect(body.message).toContain('application/json');
      expect(body.message).toContain(JSON.stringify(type));
    }
    expect(await call('GET', `/accounts/${id}`)).toMatchObject({ body: { balance: 100, version: 2 } });
  });

  it('answers unknown ids with 404', async () => {
    const missing = uniqueName('missing');
    for (const [method, path, body] of [
      ['GET', `/accounts/${missing}`, undefined],
      ['POST', `/accounts/${missing}/deposit`, { amount: 1 }],
      ['POST', `/accounts/${missing}/withdraw`, { amount: 1 }],
    ] as const) {
      expect(await call(method, path, body)).toMatchObject({
        status: 404,
        body: { code: 'aggregate_not_found', id: missing },
      });
    }
  });
});
