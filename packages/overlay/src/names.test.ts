import { describe, expect, it } from 'vitest';
import { keyOf, realXattrName, shownXattrName } from './names.js';

describe('xattr names through the overlay', () => {
  it('keep the layers\' private trusted.overlay.* hidden and show the escaped ones unescaped', () => {
    expect(shownXattrName('user.a')).toBe('user.a');
    expect(shownXattrName('trusted.t')).toBe('trusted.t');
    expect(shownXattrName('trusted.overlay.origin')).toBeNull();
    expect(shownXattrName('trusted.overlay.overlay.opaque')).toBe('trusted.overlay.opaque');
    expect(shownXattrName('trusted.overlay.overlay.')).toBeNull();
  });

  it('map trusted.overlay.X to the escaped real name, anything else to itself', () => {
    expect(realXattrName('trusted.overlay.opaque')).toBe('trusted.overlay.overlay.opaque');
    expect(realXattrName('user.overlay.x')).toBe('user.overlay.x');
    for (const n of ['trusted.overlay.a', 'trusted.overlay.overlay.b']) expect(shownXattrName(realXattrName(n))).toBe(n);
  });

  it('are latin1 keys', () => {
    expect(Array.from(keyOf('a\u00ff'))).toEqual([0x61, 0xff]);
  });
});
