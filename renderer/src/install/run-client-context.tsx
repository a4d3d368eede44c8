/**
 * The run client, provided through React context: one per api, above the pages, so it
 * outlives page switches and the stream is not re-attached when the user comes back.
 */
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { useApp } from '../context';
import { RunClient } from './run-client';

const RunClientContext = createContext<RunClient | undefined>(undefined);

export function RunClientProvider({ children }: { children: ReactNode }) {
  const { api } = useApp();
  const client = useMemo(() => new RunClient(api), [api]);
  return <RunClientContext.Provider value={client}>{children}</RunClientContext.Provider>;
}

export function useRunClient(): RunClient {
  const client = useContext(RunClientContext);
  if (!client) throw new Error('useRunClient outside <RunClientProvider>');
  return client;
}
