/**
 * The terminal's command line: words split at blanks, with '...' (literal), "..." (with
 * \" \\ \$ \` escapes, as sh) and \x outside quotes. No variables, globs, pipes or
 * redirections: a line is one tool and its arguments.
 */
export class ShellSyntaxError extends Error {}

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError('unterminated quote \'');
      word += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) j++;
        word += line[j];
      }
      if (j >= line.length) throw new ShellSyntaxError('unterminated quote "');
      i = j;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
    } else if ('|<>;&'.includes(c)) {
      throw new ShellSyntaxError(`${c}: pipes, redirections and lists are not supported (one tool per line)`);
    } else word += c;
  }
  if (inWord) words.push(word);
  return words;
}
