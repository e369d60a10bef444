/**
 * Names as ZenFS's strings. ZenFS passes paths as JS strings and lists directories as
 * strings; EROFS names are bytes, and Linux lets them be any bytes but "/" and NUL. A
 * name that is valid UTF-8 becomes its text. Each byte of a name that is not valid UTF-8
 * becomes the lone surrogate U+DC80..U+DCFF (Python's "surrogateescape"), so the string
 * ZenFS gets from readdir names the same entry when it comes back in a path; a plain
 * UTF-8 encoder would turn those bytes into U+FFFD and lose the entry.
 */

const strict = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The string for the name bytes `b`. */
export function nameToString(b: Uint8Array): string {
  try {
    return strict.decode(b);
  } catch {
    return escapeInvalid(b);
  }
}

/** Decodes valid UTF-8 sequences, each byte of anything else as U+DC00 + byte. */
function escapeInvalid(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let len = 0;
    let cp = 0;
    let min = 0;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
      min = 0x10000;
    }
    let ok = len > 0 && i + len <= b.length;
    for (let k = 1; ok && k < len; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCharCode(0xdc00 + c);
      i++;
    }
  }
  return out;
}

/** The bytes of a path string: UTF-8, with U+DC80..U+DCFF turned back into their bytes. */
export function stringToBytes(s: string): Uint8Array {
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xdc80 && u <= 0xdcff) {
      // A low surrogate after a high one is half of a real character, not an escape.
      const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
      if (!(prev >= 0xd800 && prev <= 0xdbff)) {
        escaped = true;
        break;
      }
    }
  }
  if (!escaped) return encoder.encode(s);
  const parts: number[] = [];
  let run = '';
  const flush = () => {
    if (run) for (const x of encoder.encode(run)) parts.push(x);
    run = '';
  };
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
    if (u >= 0xdc80 && u <= 0xdcff && !(prev >= 0xd800 && prev <= 0xdbff)) {
      flush();
      parts.push(u - 0xdc00);
    } else run += s[i];
  }
  flush();
  return Uint8Array.from(parts);
}

/** Whether `s` is plain ASCII (our VFS walks those without encoding). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
