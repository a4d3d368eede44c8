import { describe, expect, it } from 'vitest';
import { MERGE_WINDOW_MS, HISTORY_LIMIT, record, redo, startHistory, undo } from './history';

describe('undo/redo history', () => {
  it('undoes and redoes edits in order, and a new edit drops the redo branch', () => {
    let h = startHistory('a');
    h = record(h, 'b', undefined, 0);
    h = record(h, 'c', undefined, 1);
    h = undo(h);
    expect(h.present).toBe('b');
    h = undo(h);
    expect(h.present).toBe('a');
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe('b');
    h = record(h, 'x', undefined, 2);
    expect(h.future).toEqual([]);
    expect(redo(h)).toBe(h);
    expect(undo(h).present).toBe('b');
  });

  it('merges keystrokes into one field within the merge window, not across fields or pauses', () => {
    let h = startHistory('');
    h = record(h, 'h', '/site/name', 0);
    h = record(h, 'he', '/site/name', 100);
    h = record(h, 'hel', '/site/name', 200);
    expect(h.past).toEqual(['']);
    h = record(h, 'hel!', '/site/name', 200 + MERGE_WINDOW_MS + 1);
    expect(h.past).toEqual(['', 'hel']);
    h = record(h, 'other', '/site/customer', 200 + MERGE_WINDOW_MS + 2);
    expect(h.past).toEqual(['', 'hel', 'hel!']);
    expect(undo(undo(h)).present).toBe('hel');
  });

  it('ignores an edit that changes nothing and keeps at most the limit of steps', () => {
    let h = startHistory(0);
    expect(record(h, 0, undefined, 0)).toBe(h);
    for (let i = 1; i <= HISTORY_LIMIT + 10; i++) h = record(h, i, undefined, i);
    expect(h.past).toHaveLength(HISTORY_LIMIT);
    expect(h.past[0]).toBe(10);
  });
});
