import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Requires `authorization: Bearer <token>` on every call (the Farm service and health alike);
 * anything else ends the call with UNAUTHENTICATED before its handler runs.
 */
export function bearerInterceptor(token: string): grpc.ServerInterceptor {
  const expected = `Bearer ${token}`;
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (md, mdNext) => {
            const got = md.get('authorization');
            if (got.length === 1 && typeof got[0] === 'string' && same(got[0], expected)) mdNext(md);
            else {
              call.sendStatus({
                code: grpc.status.UNAUTHENTICATED,
                details: got.length === 0 ? 'authorization: missing bearer token' : 'authorization: invalid bearer token',
              });
            }
          },
        });
      },
    });
}
