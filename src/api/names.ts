/** Named client functions derived from channel names: `plan:import-csv` → `planImportCsv`. */

type Camel<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<Camel<T>>}`
  : S;

/** The client function name of a channel. */
export type MethodName<C extends string> = C extends `${infer A}:${infer B}`
  ? `${Camel<A>}${Capitalize<Camel<B>>}`
  : Camel<C>;

export function methodName<C extends string>(channel: C): MethodName<C> {
  return channel.replace(/[:-]([a-z])/g, (_m, c: string) => c.toUpperCase()) as MethodName<C>;
}
