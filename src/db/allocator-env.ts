/**
 * How long DuckDB's memory allocator (its own jemalloc) keeps freed memory before returning it to the
 * system. DuckDB's default is 5 s; Doctor's writes (a crawl commits every few hundred ms, each commit
 * allocating and freeing megabytes of vectors) then keep handing pages back and touching fresh ones, and
 * every fresh page costs a page fault. With 10 s a crawl of python3.11-doc faults ~20% less and spends
 * ~2.5 ms less CPU per page on the main thread (~7% of the whole crawl's CPU; bench/results/crawl.md);
 * an idle server still gives the memory back, 10 s later instead of 5.
 *
 * jemalloc reads DUCKDB_JE_MALLOC_CONF once, when DuckDB's library is loaded, so this module runs before
 * it (./duckdb.ts imports it first). A value the user set is left as it is.
 */
export const DEFAULT_DUCKDB_ALLOCATOR_CONF = 'dirty_decay_ms:10000,muzzy_decay_ms:10000';

if (process.env.DUCKDB_JE_MALLOC_CONF === undefined) process.env.DUCKDB_JE_MALLOC_CONF = DEFAULT_DUCKDB_ALLOCATOR_CONF;
