import { describe, expect, it } from 'vitest';
import { pickTextHeaders, textHeaderPairs } from '../../src/log/text-types.js';

const NAMES = ['type', 'version', 'event-id'];

function pick(text: string): (string | undefined)[] | false {
  const out = new Array<string | undefined>(NAMES.length).fill('stale');
  return pickTextHeaders(text, NAMES, out) && out;
}

describe('pickTextHeaders', () => {
  it('picks the named values of an unquoted header text, the last one of a name that comes twice', () => {
    expect(pick('{type,A,version,2,event-id,e-1}')).toEqual(['A', '2', 'e-1']);
    expect(pick('{event-idx,x,types,y,type,A,type,B}')).toEqual(['B', undefined, undefined]);
    expect(pick('{}')).toEqual([undefined, undefined, undefined]);
  });

  it('gives up on quoted elements and on text that is not pairs, which the general parser takes', () => {
    expect(pick('{type,"a b",version,2}')).toBe(false);
    expect(textHeaderPairs('{type,"a b",version,"",x,"\\"q\\""}')).toEqual([
      ['type', 'a b'],
      ['version', ''],
      ['x', '"q"'],
    ]);
    expect(pick('{type}')).toBe(false);
  });
});
