/** The api client and the file actions, handed to every component. */
import { createContext, useContext } from 'react';
import type { ApiClient } from '../../src/api';
import type { Actions } from './actions';

export interface AppContextValue {
  api: ApiClient;
  actions: Actions;
}

export const AppContext = createContext<AppContextValue | undefined>(undefined);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp outside <AppContext.Provider>');
  return value;
}
