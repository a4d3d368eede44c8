/**
 * A credentials file of `KEY USER:PASSWORD` lines (`#` comments and blank lines allowed): the
 * form of the registry mirrors' and the BMCs' logins. It must be a regular file that other
 * users cannot read (mode 0600 or stricter); a message names a bad line by its number, never
 * its content, which holds a password.
 */
import { stat } from 'node:fs/promises';
import { UstartError } from '../errors.js';
import { readRegularFile } from './user-file.js';

export interface FileLogin {
  username: string;
  password: string;
}

export async function readCredentialsFile(
  path: string,
  o: {
    /** What the file is, for messages: "the BMC credentials file". */
    what: string;
    /** How a line is written, for a bad line's message: "ADDRESS USER:PASSWORD". */
    form: string;
  },
): Promise<Map<string, FileLogin>> {
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new UstartError(
        'InvalidArgument',
        `${path} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it, it holds passwords.`,
      );
    }
    text = await readRegularFile(path, { what: o.what, encoding: 'utf8' });
  } catch (e) {
    if (e instanceof UstartError) throw e;
    throw new UstartError('InvalidArgument', `cannot read ${o.what} ${path}.`, { cause: e });
  }
  const map = new Map<string, FileLogin>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+)\s+([^:\s]+):(.*)$/.exec(line);
    if (!m) {
      throw new UstartError(
        'InvalidArgument',
        `${path}:${i + 1}: write ${o.form} (the password may not be empty).`,
      );
    }
    if (m[3] === '')
      throw new UstartError('InvalidArgument', `${path}:${i + 1}: the password is empty.`);
    map.set(m[1]!, { username: m[2]!, password: m[3]! });
  });
  return map;
}
