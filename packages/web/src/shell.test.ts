import { describe, expect, it } from 'vitest';
import { ShellSyntaxError, splitWords } from './shell.js';

describe('splitWords', () => {
  it('splits at blanks and keeps quoted and escaped text as sh does', () => {
    expect(splitWords('  ls   -l\t/ ')).toEqual(['ls', '-l', '/']);
    expect(splitWords(`cat '/a b' "/c \\"d\\" \\\\ \\x" e\\ f ''`)).toEqual(['cat', '/a b', '/c "d" \\ \\x', 'e f', '']);
    expect(splitWords(`a'b'"c"d`)).toEqual(['abcd']);
    expect(splitWords('')).toEqual([]);
  });

  it('refuses unterminated quotes, pipes and redirections', () => {
    for (const line of [`cat 'x`, 'cat "x', 'ls | wc', 'ls > out', 'ls; ls', 'ls &']) expect(() => splitWords(line), line).toThrow(ShellSyntaxError);
    expect(splitWords("echo '|'")).toEqual(['echo', '|']);
  });
});
