import { describe, expect, it } from 'vitest';
import { Progress, mib, modeString, timeString, uuidString } from './format.js';

describe('format', () => {
  it('renders ls-style modes, including setuid, setgid and sticky bits with and without x', () => {
    expect(modeString(0o040755)).toBe('drwxr-xr-x');
    expect(modeString(0o107777)).toBe('-rwsrwsrwt');
    expect(modeString(0o106644)).toBe('-rwSr-Sr--');
    expect(modeString(0o041777)).toBe('drwxrwxrwt');
    expect(modeString(0o041776)).toBe('drwxrwxrwT');
    expect(modeString(0o120777)).toBe('lrwxrwxrwx');
    expect(modeString(0o020600)).toBe('crw-------');
    expect(modeString(0o060600)).toBe('brw-------');
    expect(modeString(0o010644)).toBe('prw-r--r--');
    expect(modeString(0o140755)).toBe('srwxr-xr-x');
    expect(modeString(0o100000)).toBe('----------');
  });

  it('renders times in UTC, before 1970 too', () => {
    expect(timeString(1700000000)).toBe('2023-11-14 22:13:20');
    expect(timeString(-86400)).toBe('1969-12-31 00:00:00');
  });

  it('renders uuids in 8-4-4-4-12 form', () => {
    const u = Uint8Array.from(Buffer.from('e0f5e1e2000040008000' + '0000000e20f5', 'hex'));
    expect(uuidString(u)).toBe('e0f5e1e2-0000-4000-8000-0000000e20f5');
  });

  it('draws progress only after the first second, at most ten times a second, and erases it at the end', () => {
    let now = 1000;
    const written: string[] = [];
    const bar = new Progress({ write: (t: string) => written.push(t) }, 'fsck', undefined, 1000, () => now);
    bar.update(1, 10);
    now += 999;
    bar.update(5, 10);
    bar.end();
    expect(written).toEqual([]); // done within a second: nothing at all
    const slow = new Progress({ write: (t: string) => written.push(t) }, 'mkfs', mib, 1000, () => now);
    now += 1000;
    slow.update(3 << 20, 12 << 20);
    now += 50;
    slow.update(4 << 20, 12 << 20); // within 100 ms of the last line
    now += 100;
    slow.update(12 << 20, 12 << 20);
    slow.end();
    expect(written).toEqual([
      '\rmkfs [########......................] 3.0/12.0 MiB\x1b[K',
      '\rmkfs [##############################] 12.0/12.0 MiB\x1b[K',
      '\r\x1b[K',
    ]);
  });
});

