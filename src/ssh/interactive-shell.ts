/**
 * An interactive shell on a host: a PTY session channel (ssh2 `client.shell`) for the
 * Terminals tab. Output is decoded with a streaming UTF-8 decoder, so a multi-byte
 * character split over SSH packets reaches the terminal whole (STYLE.md, "Streams of
 * output"); the channel stops being read while the consumer is behind (`pause`).
 */
import { TextDecoder } from 'node:util';
import type { Client, ClientChannel } from 'ssh2';
import { UstartError } from '../errors.js';

export interface ShellOptions {
  cols: number;
  rows: number;
  /** TERM for the remote side; xterm.js speaks xterm-256color. */
  term?: string;
}

/** How a shell ended: the exit status or signal when the server said, null otherwise. */
export interface ShellExit {
  code: number | null;
  signal: string | null;
}

export interface ShellChannel {
  /** Keystrokes and pasted text. */
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Stops reading the channel until `resume` (flow control). */
  pause(): void;
  resume(): void;
  onData(listener: (text: string) => void): void;
  /** Resolves once the channel has closed. */
  readonly exited: Promise<ShellExit>;
  close(): void;
}

/** Opens a PTY shell on an ssh2 client that is ready. */
export function openShell(
  client: Client,
  host: string,
  options: ShellOptions,
): Promise<ShellChannel> {
  return new Promise((resolve, reject) => {
    client.shell(
      { cols: options.cols, rows: options.rows, term: options.term ?? 'xterm-256color' },
      (err, channel) => {
        if (err) {
          reject(
            new UstartError(
              'ConnectionFailed',
              `${host} refused an interactive shell: ${err.message}. Check that the user may log in with a shell there.`,
              { cause: err, detail: { host } },
            ),
          );
          return;
        }
        resolve(wrap(channel));
      },
    );
  });
}

function wrap(channel: ClientChannel): ShellChannel {
  const decoder = new TextDecoder('utf-8');
  const listeners = new Set<(text: string) => void>();
  const deliver = (chunk: Buffer) => {
    const text = decoder.decode(chunk, { stream: true });
    if (text) for (const l of listeners) l(text);
  };
  channel.on('data', deliver);
  channel.stderr.on('data', deliver);
  let code: number | null = null;
  let signal: string | null = null;
  channel.on('exit', (c: number | null, s?: string) => {
    code = c ?? null;
    signal = s ?? null;
  });
  const exited = new Promise<ShellExit>((resolve) =>
    channel.once('close', () => resolve({ code, signal })),
  );
  return {
    write: (data) => void channel.write(data),
    resize: (cols, rows) => channel.setWindow(rows, cols, 0, 0),
    pause: () => void channel.pause(),
    resume: () => void channel.resume(),
    onData: (listener) => void listeners.add(listener),
    exited,
    close: () => void channel.close(),
  };
}
