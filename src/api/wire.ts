/**
 * The WebSocket framing of browser mode: one socket carries requests (with an id), their
 * answers, and pushed events. Both ends parse every frame with these schemas.
 */
import { z } from 'zod';

export const ClientFrame = z.object({
  type: z.literal('request'),
  id: z.number().int().nonnegative(),
  channel: z.string(),
  input: z.unknown(),
});
export type ClientFrame = z.infer<typeof ClientFrame>;

export const ServerFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('response'), id: z.number().int(), result: z.unknown() }),
  z.object({ type: z.literal('event'), event: z.string(), payload: z.unknown() }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** The path of the api socket on the browser-mode server. */
export const API_SOCKET_PATH = '/api';
/** Largest frame either side accepts: a 1,000-server plan is about 1.5 MB as JSON. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/**
 * Requests one socket may have waiting for an answer, and their bytes. The server answers
 * `Busy` past either; the browser's transport queues its own requests beyond them, so a page
 * that sends many at once (a sudo password for 1,000 hosts) never sees `Busy` from itself.
 */
export const MAX_REQUESTS_IN_FLIGHT = 64;
export const MAX_BYTES_IN_FLIGHT = 2 * MAX_FRAME_BYTES;
