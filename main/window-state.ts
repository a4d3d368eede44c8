/** Where the window was and how big, remembered in userData/window-state.json. */
import { screen, type BrowserWindow } from 'electron';
import { z } from 'zod';
import { readStateFile, writeStateFile } from '../src/app/index.js';

const WindowState = z.object({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().min(640),
  height: z.number().int().min(480),
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof WindowState>;

const DEFAULT: WindowState = { width: 1280, height: 800, maximized: false };

/** The saved state, or the default when the saved position is on no display any more. */
export async function loadWindowState(file: string): Promise<WindowState> {
  const state = await readStateFile(file, WindowState, DEFAULT);
  if (state.x === undefined || state.y === undefined) return state;
  const { x, y } = state;
  const visible = screen.getAllDisplays().some((d) => {
    const b = d.workArea;
    return x >= b.x && y >= b.y && x < b.x + b.width && y < b.y + b.height;
  });
  return visible ? state : { ...DEFAULT, maximized: state.maximized };
}

/** Saves the window's state when it moves or resizes (debounced) and when it closes. */
export function trackWindowState(win: BrowserWindow, file: string): () => void {
  let timer: NodeJS.Timeout | undefined;
  const save = () => {
    if (win.isDestroyed()) return;
    const b = win.getNormalBounds();
    void writeStateFile(file, { ...b, maximized: win.isMaximized() }).catch(() => undefined);
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(save, 500);
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('close', save);
  return () => clearTimeout(timer);
}
