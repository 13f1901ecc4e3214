/**
 * DuckDB's API for the rest of Doctor: `@duckdb/node-api` (and the raw `@duckdb/node-bindings` some bulk
 * paths use) re-exported once the allocator setting below is in place. Import DuckDB from here, never from
 * the packages themselves: the setting must exist before DuckDB's library is loaded.
 */
import './allocator-env.js';
export * from '@duckdb/node-api';
export { default as bindings } from '@duckdb/node-bindings';
