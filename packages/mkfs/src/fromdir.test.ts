import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, linkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeFromDirectory } from './fromdir.js';

describe('treeFromDirectory', () => {
  it('reads files, directories, symlinks and hard links', () => {
    const d = mkdtempSync(join(tmpdir(), 'fromdir-'));
    try {
      mkdirSync(join(d, 'sub'));
      writeFileSync(join(d, 'a'), 'hello');
      linkSync(join(d, 'a'), join(d, 'sub', 'b'));
      symlinkSync('a', join(d, 'l'));
      const t = treeFromDirectory(d, { xattrs: false });
      const sub = t.entries.get('sub');
      expect(sub?.type).toBe('dir');
      expect(sub?.type === 'dir' && sub.entries.get('b')).toBe(t.entries.get('a'));
      expect(t.entries.get('l')).toMatchObject({ type: 'symlink' });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
