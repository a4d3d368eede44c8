import { describe, expect, it } from 'vitest';
import { checkAnswer, createClient } from './client.js';
import { CHANNELS } from './contract.js';
import { createFrontEvents, dispatch, type Handlers } from './dispatch.js';
import { methodName } from './names.js';

describe('the contract as named client functions', () => {
  it('turns area:verb channels into camelCase names, one per channel, none twice', () => {
    expect(methodName('plan:open')).toBe('planOpen');
    expect(methodName('plan:ip-plan')).toBe('planIpPlan');
    expect(methodName('window:set-state')).toBe('windowSetState');
    const names = CHANNELS.map(methodName);
    expect(new Set(names).size).toBe(names.length);
    const client = createClient({ invoke: async () => ({}), subscribe: () => () => undefined });
    for (const name of names)
      expect(typeof (client as Record<string, unknown>)[name]).toBe('function');
  });

  it('refuses an answer that does not match the output schema, naming the field', () => {
    const answer = checkAnswer('plan:export', { ok: true, value: { file: 42 } });
    expect(answer).toMatchObject({ ok: false, error: { code: 'BadAnswer' } });
    if (!answer.ok) expect(answer.error.message).toContain('plan:export');
    expect(checkAnswer('plan:export', { ok: true, value: { file: '/x.yaml' } })).toEqual({
      ok: true,
      value: { file: '/x.yaml' },
    });
  });

  it('answers Disconnected when the transport throws, instead of rejecting', async () => {
    const client = createClient({
      invoke: () => Promise.reject(new Error('socket closed')),
      subscribe: () => () => undefined,
    });
    expect(await client.recentList()).toMatchObject({ ok: false, error: { code: 'Disconnected' } });
  });

  it('drops events whose payload does not match the contract', () => {
    const hub = createFrontEvents();
    const client = createClient({
      invoke: async () => ({}),
      subscribe: (event, listener) => hub.on(event, listener as never),
    });
    const seen: unknown[] = [];
    const off = client.on('recent:changed', (e) => seen.push(e));
    hub.emit('recent:changed', { files: 'not a list' } as never);
    hub.emit('recent:changed', { files: [{ file: '/a.yaml', openedAt: 'now' }] });
    off();
    hub.emit('recent:changed', { files: [] });
    expect(seen).toEqual([{ files: [{ file: '/a.yaml', openedAt: 'now' }] }]);
  });
});

describe('dispatch', () => {
  it('answers UnknownChannel, BadInput, or the thrown error’s code — never throws', async () => {
    const handlers = {
      'recent:list': () => {
        throw Object.assign(new Error('disk full'), { code: 'WriteFailed' });
      },
    } as unknown as Handlers;
    expect(await dispatch(handlers, 'recent:list', {})).toEqual({
      ok: false,
      error: { code: 'WriteFailed', message: 'disk full' },
    });
    expect(await dispatch(handlers, 'plan:delete', {})).toMatchObject({
      ok: false,
      error: { code: 'UnknownChannel' },
    });
    expect(await dispatch(handlers, 'plan:export', { file: 3 })).toMatchObject({
      ok: false,
      error: { code: 'BadInput' },
    });
    expect(await dispatch(handlers, '__proto__', {})).toMatchObject({ ok: false });
  });
});
