/** The one modal dialog open at a time, if any. */
import { create } from 'zustand';

export type Dialog =
  | { kind: 'path'; title: string; initial: string; resolve: (path: string | null) => void }
  | { kind: 'csv' }
  | { kind: 'print'; html: string };

interface DialogState {
  dialog: Dialog | undefined;
  show(dialog: Dialog): void;
  close(): void;
}

export const useDialogStore = create<DialogState>((set) => ({
  dialog: undefined,
  show: (dialog) => set({ dialog }),
  close: () => set({ dialog: undefined }),
}));

/** Asks for a path in a dialog of our own (browser mode has no native file dialog). */
export function askPath(title: string, initial: string): Promise<string | null> {
  return new Promise((resolve) => {
    useDialogStore.getState().show({
      kind: 'path',
      title,
      initial,
      resolve: (path) => {
        useDialogStore.getState().close();
        resolve(path);
      },
    });
  });
}
