/** Opens the source a migration reads from; each client library is loaded only when its source is used. */
import type { QdrantSource, SourceConfig } from './source.js';

export async function openSource(config: SourceConfig): Promise<QdrantSource> {
  if (config.kind === 'grpc') return new (await import('./grpc-source.js')).GrpcSource(config);
  return new (await import('./rest-source.js')).RestSource(config);
}
