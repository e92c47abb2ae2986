import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import { PROTO_PATH } from '../farm/proto.ts';

/**
 * Request bytes the coordinator refuses before any handler runs. grpc-js answers a request it
 * cannot decode with INTERNAL, and protobuf decoders skip a known field sent with the wrong wire
 * type (a string field sent as a varint silently reads as ''): both are the client's fault, so the
 * service's deserializers check the wire format first and hand the handler a marker instead, which
 * the handler guard turns into INVALID_ARGUMENT (coordinator/service.ts).
 */
export class MalformedRequest {
  constructor(readonly problem: string) {}
}

const WIRE: Record<string, number> = {
  double: 1, fixed64: 1, sfixed64: 1, float: 5, fixed32: 5, sfixed32: 5,
  int32: 0, int64: 0, uint32: 0, uint64: 0, sint32: 0, sint64: 0, bool: 0, string: 2, bytes: 2,
};

/** The first wire-format problem of `buf` as a `type` message, or null when it is well formed. */
export function wireProblem(type: protobuf.Type, buf: Uint8Array, path = type.name): string | null {
  const r = protobuf.Reader.create(buf);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const no = tag >>> 3;
      const wt = tag & 7;
      if (no === 0) return `${path}: field number 0`;
      const f = type.fieldsById[no];
      if (f) {
        f.resolve();
        const scalar = WIRE[f.type];
        const expect = f.map || f.resolvedType instanceof protobuf.Type ? 2 : f.resolvedType ? 0 : scalar;
        const packedOk = f.repeated && scalar !== undefined && scalar !== 2 && wt === 2;
        if (expect !== undefined && wt !== expect && !packedOk) return `${path}.${f.name}: wrong wire type ${wt} (expected ${expect})`;
        if (wt === 2 && f.resolvedType instanceof protobuf.Type && !f.map) {
          const sub = r.bytes();
          const p = wireProblem(f.resolvedType, sub, `${path}.${f.name}`);
          if (p) return p;
          continue;
        }
      }
      r.skipType(wt);
    }
    if (r.pos !== r.len) return `${path}: truncated`;
  } catch (e) {
    return `${path}: not a valid protobuf message (${(e as Error).message})`;
  }
  return null;
}

let root: protobuf.Root | undefined;

/**
 * The service definition with each method's deserializer checking the wire format first; a bad
 * request decodes to a MalformedRequest (and a good one as before).
 */
export function strictService(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  root ??= protobuf.loadSync(PROTO_PATH);
  const out: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const [name, m] of Object.entries(def)) {
    const method = root.lookupService('racefarm.v1.Farm').methods[name];
    const type = root.lookupType(method.requestType.includes('.') ? method.requestType : `racefarm.v1.${method.requestType}`);
    out[name] = {
      ...m,
      requestDeserialize: (buf: Buffer) => {
        const p = wireProblem(type, buf);
        if (p) return new MalformedRequest(p);
        try {
          return m.requestDeserialize(buf);
        } catch (e) {
          return new MalformedRequest(`${type.name}: ${(e as Error).message}`);
        }
      },
    };
  }
  return out as grpc.ServiceDefinition;
}
