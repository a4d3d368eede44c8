/**
 * Files between the browser and the user's own computer (browser mode has no native file
 * dialog and the server may sit on a jump host): downloads made in the page, uploads read
 * from the file picker with the contract's size limit checked before the text is read.
 */
import { MAX_UPLOAD_CHARS } from '../../../src/api';

/** Saves `text` as a download named `name` (the browser asks where, or uses its folder). */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has handed the blob to the download; a later tick lets it go.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/**
 * Why `file` is too large to upload, as a sentence to show with the file's name, or
 * undefined when it fits. Bytes are compared with the character limit: a UTF-8 file never has
 * more characters than bytes, so a file within the limit in bytes fits in characters too.
 */
export function oversize(
  file: { name: string; size: number },
  sentence: string,
): string | undefined {
  if (file.size <= MAX_UPLOAD_CHARS) return undefined;
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  return `${file.name} ${sentence.replace('{size}', mb(file.size)).replace('{max}', mb(MAX_UPLOAD_CHARS))}`;
}
