/** Small helpers for binding values that DuckDB cannot infer from plain JS values. */
import { LIST, TIMESTAMPTZ, VARCHAR, listValue, timestampTZValue, type DuckDBType, type DuckDBValue } from '../db/duckdb.js';

export const varcharList = (items: readonly string[]): DuckDBValue => listValue([...items]);
export const VARCHAR_LIST: DuckDBType = LIST(VARCHAR);
export const timestamptz = (d: Date): DuckDBValue => timestampTZValue(BigInt(d.getTime()) * 1000n);
export const TIMESTAMP_TZ: DuckDBType = TIMESTAMPTZ;

/** DuckDB returns TIMESTAMPTZ as Date through getRowObjectsJS; older rows may come back as strings. */
export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'string' || typeof v === 'number') return new Date(v);
  return new Date(NaN);
}

export function parseJson<T>(v: unknown, fallback: T): T {
  if (v === null || v === undefined) return fallback;
  if (typeof v !== 'string') return v as T;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}
