/**
 * The result every api request answers with. Errors cross process and socket boundaries as
 * plain data (Electron's IPC drops an Error's fields), so a front can switch on `code`.
 */
import { z } from 'zod';

export interface ApiError {
  /** Stable code, such as `PlanUnreadable` (see src/errors.ts) or `BadInput`. */
  code: string;
  /** What happened, where, and what to do next; shown to the user as is. */
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export const ApiErrorSchema = z.object({ code: z.string(), message: z.string() });

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(code: string, message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

/** Turns anything thrown by a handler into an ApiError, keeping a UstartError's code. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'Internal', message: e.message };
  }
  return { code: 'Internal', message: String(e) };
}

/** Zod schema of `Result<T>` for a given value schema, used to check answers at a boundary. */
export function resultSchema<T extends z.ZodType>(value: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), value }),
    z.object({ ok: z.literal(false), error: ApiErrorSchema }),
  ]);
}
