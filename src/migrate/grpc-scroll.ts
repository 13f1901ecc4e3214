/**
 * The gRPC scroll call with points read straight from the wire. The official client decodes every float of
 * a page into a JS number array (protobuf-es): measured as slow as JSON.parse of the REST answer, ~4x
 * slower than reading REST bytes directly (bench/results/migrate-qdrant.md), which would make gRPC the
 * slower path. So scroll goes through the same connect-node gRPC transport the client uses, with the
 * client's own `qdrant.ScrollPoints` request message, but its answer is declared with the points as raw
 * bytes (`repeated bytes result = 2`: the same wire format as `repeated RetrievedPoint`), which grpc-wire.ts
 * reads. Everything else (collection info, count, retrieve) uses the client as it is.
 */
import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { file_points } from '@qdrant/js-client-grpc';

/** `qdrant.Points/Scroll`, answering `ScrollResponseRaw` (points left encoded). */
function scrollService(): DescService {
  const { BYTES, DOUBLE } = FieldDescriptorProto_Type;
  const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;
  const file = create(FileDescriptorProtoSchema, {
    name: 'doctor/points_scroll_raw.proto',
    package: 'qdrant',
    dependency: ['points.proto'],
    syntax: 'proto3',
    messageType: [
      {
        name: 'ScrollResponseRaw',
        field: [
          { name: 'next_page_offset', jsonName: 'nextPageOffset', number: 1, label: OPTIONAL, type: BYTES },
          { name: 'result', jsonName: 'result', number: 2, label: REPEATED, type: BYTES },
          { name: 'time', jsonName: 'time', number: 3, label: OPTIONAL, type: DOUBLE },
        ],
      },
    ],
    service: [{ name: 'Points', method: [{ name: 'Scroll', inputType: '.qdrant.ScrollPoints', outputType: '.qdrant.ScrollResponseRaw' }] }],
  });
  const registry = createFileRegistry(file, (name) => (name === 'points.proto' ? file_points : undefined));
  return registry.getService('qdrant.Points')!;
}

export interface RawScrollAnswer {
  nextPageOffset: Uint8Array;
  result: Uint8Array[];
}

/** A client for the raw scroll call, over its own connect-node gRPC transport (as the official client's). */
export function createRawScroll(url: string, apiKey: string | undefined, timeoutMs: number): (req: Record<string, unknown>) => Promise<RawScrollAnswer> {
  const interceptors: Interceptor[] = [];
  if (apiKey !== undefined) {
    interceptors.push((next) => (req) => {
      req.header.set('api-key', apiKey);
      return next(req);
    });
  }
  // No compression (connect-node would otherwise accept gzip and brotli, and Qdrant sends gzip when asked): float
  // vectors barely compress, and compressing 1.6 MB per page costs CPU on both ends.
  const transport = createGrpcTransport({ baseUrl: url, interceptors, defaultTimeoutMs: timeoutMs, acceptCompression: [], sendCompression: undefined });
  const client = createClient(scrollService(), transport) as unknown as { scroll(req: Record<string, unknown>): Promise<RawScrollAnswer> };
  return (req) => client.scroll(req);
}
