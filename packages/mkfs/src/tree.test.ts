import { describe, expect, it } from 'vitest';
import { compareBytes, dir, file, nameBytes } from './tree.js';

describe('tree helpers', () => {
  it('compares names bytewise, shorter first', () => {
    const names = ['b', 'a', 'ab', '.', '..', '-', 'é'].map(nameBytes).sort(compareBytes);
    expect(names.map((n) => Buffer.from(n).toString())).toEqual(['-', '.', '..', 'a', 'ab', 'b', 'é']);
  });
  it('builds nodes from plain records', () => {
    const t = dir({ a: file('x', { mode: 0o600 }) });
    expect(t.entries.get('a')).toMatchObject({ type: 'file', mode: 0o600 });
  });
});
