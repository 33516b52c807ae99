/**
 * Stream names: 1–512 bytes of UTF-8, not `.` or `..`, no NUL. Hostile names are stored and read back
 * exactly; bad ones are rejected with an InvalidArgumentError naming the rule. Listing matches prefixes
 * literally (`%` and `_` are not wildcards), pages with `limit`/`startAfter`/`hasMore`, and orders names by
 * their bytes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type Basin } from '../../src/index.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** A basin of this file's own (creating streams on append), so listings see only what a test made. */
let basin: Basin;
beforeAll(async () => {
  const name = uniqueName('names');
  await fixture.log.basins.create({ basin: name, config: { createStreamOnAppend: true } });
  basin = fixture.log.basin(name);
});

/** Every stream name of the basin starting with `prefix`, following `hasMore` to the end. */
async function listAll(prefix: string): Promise<string[]> {
  const names: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await basin.streams.list({ prefix, startAfter, limit: 7 });
    names.push(...page.streams.map((s) => s.name));
    if (!page.hasMore) return names;
    startAfter = names.at(-1);
  }
}

/** Names sorted by their UTF-8 bytes. */
function byteOrder(names: string[]): string[] {
  return [...names].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

const hostile: [string, string][] = [
  ['single and double quotes', `it's a "quoted" name`],
  ['SQL injection', "x'); drop table records; --"],
  ['SQL injection with a dollar quote', 'x$$; drop table streams; $$'],
  ['backslashes', 'a\\b\\\\c\\'],
  ['LIKE wildcards', '100%_done_%'],
  ['slashes and dots', '../a/./b/..'],
  ['three dots', '...'],
  ['a dot prefix', '.hidden'],
  ['whitespace and control characters', ' tab\there\nnewline\r\u0001 '],
  ['emoji', '🦀 crab 👩‍👩‍👧 family'],
  ['right-to-left and combining marks', 'שלום e\u0301'],
  ['a noncharacter and a private-use character', '\uFFFF\uE000'],
  ['512 ASCII bytes', 'a'.repeat(512)],
  ['512 bytes of two-byte characters', 'é'.repeat(256)],
  ['512 bytes of four-byte emoji', '😀'.repeat(128)],
  ['512 bytes ending in a three-byte character', 'a'.repeat(509) + '€'],
];

describe('hostile stream names', () => {
  it.each(hostile)('with %s are stored, listed and read back exactly', async (_, name) => {
    const stream = basin.stream(name);
    expect(stream.name).toBe(name);
    await stream.append([{ body: name, headers: [['name', name]] }]);
    const { streams } = await basin.streams.list({ prefix: name });
    expect(streams.map((s) => s.name)).toEqual([name]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => [r.body, r.headers])).toEqual([[name, [['name', name]]]]);
  });

  it('with SQL in them leave the tables intact', async () => {
    await basin.stream("y'); drop table records; --").append([{ body: 'x' }]);
    await basin.stream('y"; drop table streams; --').append([{ body: 'x' }]);
    const other = fixture.log.stream(uniqueName('after-injection'));
    await other.append([{ body: 'still works' }]);
    expect((await other.read({ seqNum: 0 })).records[0]!.body).toBe('still works');
  });

  it('that differ only in Unicode normalization are different streams', async () => {
    const composed = 'caf\u00e9-nfc';
    const decomposed = 'cafe\u0301-nfc';
    await basin.stream(composed).append([{ body: 'composed' }]);
    await basin.stream(decomposed).append([{ body: 'decomposed' }]);
    expect((await basin.stream(composed).read({ seqNum: 0 })).records.map((r) => r.body)).toEqual([
      'composed',
    ]);
    expect((await basin.stream(decomposed).read({ seqNum: 0 })).records.map((r) => r.body)).toEqual([
      'decomposed',
    ]);
  });

  it('that differ only in case are different streams', async () => {
    await basin.stream('CaseName').append([{ body: 'upper' }]);
    await basin.stream('casename').append([{ body: 'lower' }]);
    expect((await basin.stream('CaseName').checkTail()).seqNum).toBe(1);
    expect((await basin.stream('casename').checkTail()).seqNum).toBe(1);
  });

  it('can be created explicitly and configured', async () => {
    const name = 'create\'d "explicitly" 🚀';
    await basin.streams.create({ stream: name, config: { timestamping: { mode: 'arrival' } } });
    expect(await basin.streams.getConfig({ stream: name })).toEqual({ timestamping: { mode: 'arrival' } });
    await basin.streams.delete({ stream: name });
    expect((await basin.streams.list({ prefix: name })).streams).toEqual([]);
  });
});

const rejected: [string, string, RegExp][] = [
  ['empty', '', /1–512 bytes of UTF-8; got 0 bytes/],
  ['513 ASCII bytes', 'a'.repeat(513), /1–512 bytes of UTF-8; got 513 bytes/],
  ['513 bytes in 257 characters', 'é'.repeat(256) + 'a', /got 513 bytes/],
  ['516 bytes in 129 emoji', '😀'.repeat(129), /got 516 bytes/],
  ['"."', '.', /must not be "\." or "\.\."/],
  ['".."', '..', /must not be "\." or "\.\."/],
  ['a NUL character', 'a\u0000b', /must not contain NUL/],
  ['only a NUL character', '\u0000', /must not contain NUL/],
  ['a lone high surrogate (not encodable as UTF-8)', 'a\uD800b', /valid Unicode/],
  ['a lone low surrogate (not encodable as UTF-8)', '\uDC00', /valid Unicode/],
];

describe('bad stream names', () => {
  it.each(rejected)(
    '%s is rejected by stream() with an InvalidArgumentError naming the rule',
    (_, name, rule) => {
      expect(() => basin.stream(name)).toThrow(InvalidArgumentError);
      expect(() => basin.stream(name)).toThrow(rule);
      expect(() => fixture.log.stream(name)).toThrow(rule);
    },
  );

  it.each(rejected)('%s is rejected by streams.create and creates nothing', async (_, name, rule) => {
    const before = await listAll('');
    const error = await rejectionOf(basin.streams.create({ stream: name }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(rule);
    expect(await listAll('')).toEqual(before);
  });

  it.each(rejected)('%s is rejected by getConfig, reconfigure and delete', async (_, name, rule) => {
    await expect(basin.streams.getConfig({ stream: name })).rejects.toThrow(rule);
    await expect(basin.streams.reconfigure({ stream: name })).rejects.toThrow(rule);
    await expect(basin.streams.delete({ stream: name })).rejects.toThrow(rule);
  });

  it('a non-string name is rejected', () => {
    expect(() => basin.stream(42 as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('listing by prefix', () => {
  it('treats % and _ in a prefix literally, never as wildcards', async () => {
    const p = uniqueName('like');
    for (const suffix of ['a%b', 'axb', 'a_b', 'ayb', 'a%', 'a_']) {
      await basin.streams.create({ stream: `${p}-${suffix}` });
    }
    expect(await listAll(`${p}-a%`)).toEqual([`${p}-a%`, `${p}-a%b`]);
    expect(await listAll(`${p}-a_`)).toEqual([`${p}-a_`, `${p}-a_b`]);
    expect(await listAll(`${p}-a%b`)).toEqual([`${p}-a%b`]);
    expect(await listAll(`${p}-a_b`)).toEqual([`${p}-a_b`]);
  });

  it('treats a backslash in a prefix literally', async () => {
    const p = uniqueName('escape');
    for (const suffix of ['a\\b', 'ab', 'a\\%', 'a%'])
      await basin.streams.create({ stream: `${p}-${suffix}` });
    expect(await listAll(`${p}-a\\`)).toEqual(byteOrder([`${p}-a\\b`, `${p}-a\\%`]));
  });

  it('returns only names that start with the prefix, the prefix itself included', async () => {
    const p = uniqueName('prefix');
    for (const name of [p, `${p}x`, `${p}-1`, `x${p}`, p.slice(0, -1)])
      await basin.streams.create({ stream: name });
    expect(await listAll(p)).toEqual(byteOrder([p, `${p}x`, `${p}-1`]));
  });

  it('with an empty prefix lists every stream of the basin and no other basin’s', async () => {
    const name = uniqueName('only-in-default-basin');
    await fixture.log.stream(name).append([{ body: 'x' }]);
    const all = await listAll('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(name);
  });
});

describe('paging', () => {
  it('pages through 25 streams with limit, startAfter and hasMore', async () => {
    const p = uniqueName('page');
    const names = Array.from({ length: 25 }, (_, i) => `${p}-${String(i).padStart(2, '0')}`);
    for (const name of names) await basin.streams.create({ stream: name });
    const first = await basin.streams.list({ prefix: p, limit: 10 });
    expect(first.streams.map((s) => s.name)).toEqual(names.slice(0, 10));
    expect(first.hasMore).toBe(true);
    const second = await basin.streams.list({ prefix: p, limit: 10, startAfter: names[9] });
    expect(second.streams.map((s) => s.name)).toEqual(names.slice(10, 20));
    expect(second.hasMore).toBe(true);
    const third = await basin.streams.list({ prefix: p, limit: 10, startAfter: names[19] });
    expect(third.streams.map((s) => s.name)).toEqual(names.slice(20));
    expect(third.hasMore).toBe(false);
  });

  it('says hasMore false when the last page is exactly full', async () => {
    const p = uniqueName('full');
    for (let i = 0; i < 4; i++) await basin.streams.create({ stream: `${p}-${i}` });
    const page = await basin.streams.list({ prefix: p, limit: 4 });
    expect(page.streams).toHaveLength(4);
    expect(page.hasMore).toBe(false);
  });

  it('startAfter is exclusive and need not be an existing name', async () => {
    const p = uniqueName('after');
    for (const suffix of ['a', 'b', 'c', 'd']) await basin.streams.create({ stream: `${p}-${suffix}` });
    expect(
      (await basin.streams.list({ prefix: p, startAfter: `${p}-b` })).streams.map((s) => s.name),
    ).toEqual([`${p}-c`, `${p}-d`]);
    expect(
      (await basin.streams.list({ prefix: p, startAfter: `${p}-bb` })).streams.map((s) => s.name),
    ).toEqual([`${p}-c`, `${p}-d`]);
  });

  it('a startAfter containing NUL is rejected with InvalidArgumentError', async () => {
    await expect(basin.streams.list({ startAfter: 'a\u0000' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a prefix containing NUL is rejected with InvalidArgumentError', async () => {
    await expect(basin.streams.list({ prefix: 'a\u0000' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it.each([0, 1001, 1.5])('limit %s is rejected with InvalidArgumentError', async (limit) => {
    await expect(basin.streams.list({ limit })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('lists a StreamInfo with the name, a creation time and no deletion time', async () => {
    const name = uniqueName('info');
    const before = Date.now();
    await basin.streams.create({ stream: name });
    const [info] = (await basin.streams.list({ prefix: name })).streams;
    expect(info!.name).toBe(name);
    expect(info!.createdAt).toBeInstanceOf(Date);
    expect(info!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(info!.deletedAt).toBeNull();
  });
});

describe('list order', () => {
  it('is the byte order of the UTF-8 names, not a locale collation or UTF-16 order', async () => {
    const p = uniqueName('order');
    // Byte order: uppercase before lowercase, 'é' after 'z', U+FF01 before the emoji (UTF-16 order says
    // otherwise: the emoji's surrogate D83D sorts before FF01).
    const suffixes = [
      'b',
      'B',
      'a',
      'A',
      'z',
      'é',
      '\uFF01',
      '😀',
      '~',
      '-',
      '0',
      'a b',
      'ab',
      'a'.repeat(3),
    ];
    for (const suffix of suffixes) await basin.streams.create({ stream: `${p}/${suffix}` });
    const listed = await listAll(`${p}/`);
    expect(listed).toEqual(byteOrder(suffixes.map((s) => `${p}/${s}`)));
    expect(listed.indexOf(`${p}/\uFF01`)).toBeLessThan(listed.indexOf(`${p}/😀`));
    expect(listed.indexOf(`${p}/B`)).toBeLessThan(listed.indexOf(`${p}/a`));
  });

  it('pages by byte order with startAfter', async () => {
    const p = uniqueName('order-page');
    const suffixes = ['é', '\uFF01', '😀', 'Z', 'a'];
    for (const suffix of suffixes) await basin.streams.create({ stream: `${p}/${suffix}` });
    const expected = byteOrder(suffixes.map((s) => `${p}/${s}`));
    const paged: string[] = [];
    let startAfter: string | undefined;
    for (let hasMore = true; hasMore;) {
      const page = await basin.streams.list({ prefix: `${p}/`, startAfter, limit: 1 });
      paged.push(...page.streams.map((s) => s.name));
      hasMore = page.hasMore;
      startAfter = paged.at(-1);
    }
    expect(paged).toEqual(expected);
  });
});
