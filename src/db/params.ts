/** The parameters of a SQL statement and their optional DuckDB types (positional `?` or named `$name`). */
import type { DuckDBType, DuckDBValue } from './duckdb.js';

export type Params = DuckDBValue[] | Record<string, DuckDBValue>;
export type ParamTypes = DuckDBType[] | Record<string, DuckDBType | undefined>;
