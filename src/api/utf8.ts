/**
 * The UTF-8 length of a string without encoding it (surrogate pairs are 4 bytes): how the
 * server counts a frame (./ws-transport.ts, no copy of a large plan) and how the renderer's
 * log ring counts byte offsets in a log file (renderer/src/install/ring-buffer.ts).
 */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
