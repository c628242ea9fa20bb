// The little the SQL store needs from a Postgres connection, so one implementation of the store
// serves both embedded PGlite and a Postgres server (pg Pool).

export interface SqlRunner {
  /** One statement with $1… parameters; returns its rows, unparsed. */
  query(text: string, params?: readonly unknown[]): Promise<unknown[]>;
  /** Several statements, no parameters (migration files). */
  exec(text: string): Promise<void>;
}

/** One connection held for a while: session-level advisory locks live on it. */
export interface SqlSession extends SqlRunner {
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
}

export interface SqlDatabase extends SqlRunner {
  readonly kind: 'pglite' | 'postgres';
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
