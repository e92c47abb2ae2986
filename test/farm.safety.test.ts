import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { loadProtos } from '../farm/proto.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { QUEUES } from '../farm/jobs.ts';
import { keys } from '../farm/keys.ts';
import { escapeText, hasLoneSurrogate } from '../farm/safeText.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, type FarmProc } from './helpers/farm.ts';

const TOKEN = 'tok-safety';
const SVC = '/racefarm.v1.Farm/';

/** A small deterministic PRNG (the corpus is the same on every run). */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = ['\ud800', 'a\udc00b', '\u001b[2J\u001b[31mowned', 'x\u0000y', '\u009b31m', 'é\ud83d', '\r\nFAKE LOG LINE', 'x'.repeat(100_000), '__proto__'];

/** Replaces one string (key or value) somewhere in a JSON value with `bad`. */
function mutate(v: unknown, rnd: () => number, bad: string): unknown {
  const j = JSON.parse(JSON.stringify(v));
  const spots: { obj: any; key: string | number; isKey: boolean }[] = [];
  const walk = (o: any) => {
    if (Array.isArray(o)) o.forEach((x, i) => (typeof x === 'string' ? spots.push({ obj: o, key: i, isKey: false }) : walk(x)));
    else if (o && typeof o === 'object')
      for (const k of Object.keys(o)) {
        spots.push({ obj: o, key: k, isKey: true });
        if (typeof o[k] === 'string' && k !== 'description') spots.push({ obj: o, key: k, isKey: false });
        else walk(o[k]);
      }
  };
  walk(j);
  // "__proto__" is a fine value (a thread may be called so): it is malformed only as a key.
  const usable = bad === '__proto__' ? spots.filter((x) => x.isKey) : spots;
  const s = usable[Math.floor(rnd() * usable.length)];
  if (s.isKey) {
    Object.defineProperty(s.obj, bad, { value: s.obj[s.key], enumerable: true, writable: true, configurable: true });
    delete s.obj[s.key];
  } else s.obj[s.key] = bad;
  return j;
}

/** Wire bytes: varint / length-delimited fields, for requests a normal client cannot send. */
const varint = (n: number) => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const field = (no: number, wt: number, payload: number[]) => [...varint((no << 3) | wt), ...payload];

describe('farm safety: malformed gRPC requests against a live coordinator (token on)', function () {
  this.timeout(90_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let address = '';
  let raw: grpc.Client;
  let typed: any;
  const authed = () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    return md;
  };

  before(async () => {
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url, { token: TOKEN });
    coordinator = c.proc;
    address = c.address;
    raw = new grpc.Client(address, grpc.credentials.createInsecure());
    typed = new (loadProtos().farm)(address, grpc.credentials.createInsecure());
  });

  after(async () => {
    raw?.close();
    typed?.close();
    await coordinator?.stop();
    await redis?.destroy();
  });

  const rawCall = (method: string, bytes: Uint8Array, md = authed()) =>
    new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(SVC + method, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), md, { deadline: Date.now() + 20_000 }, (e) => resolve(e)),
    );
  const typedCall = (method: string, req: object, md = authed()) =>
    new Promise<grpc.ServiceError | null>((resolve) => typed[method](req, md, { deadline: Date.now() + 20_000 }, (e: grpc.ServiceError | null) => resolve(e)));

  it('every RPC, the Watch stream and Health.Watch included, is refused without the token', async () => {
    // Every unary method of the service definition, so a new RPC is covered the day it is added.
    const definition = loadProtos().farm.service as Record<string, { requestStream: boolean; responseStream: boolean }>;
    const methods = Object.entries(definition).filter(([, d]) => !d.requestStream && !d.responseStream).map(([name]) => name);
    assert.ok(methods.includes('StartComparison') && methods.includes('CancelComparison'), methods.join(', '));
    for (const m of methods) {
      const e = await rawCall(m, new Uint8Array(), new grpc.Metadata());
      assert.equal(e?.code, grpc.status.UNAUTHENTICATED, `${m}: ${e?.details}`);
    }
    const stream = (path: string) =>
      new Promise<number>((resolve) => {
        const s = raw.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from([]), new grpc.Metadata());
        s.on('data', () => {});
        s.on('error', (e: grpc.ServiceError) => resolve(e.code));
        s.on('end', () => resolve(-1));
      });
    assert.equal(await stream(`${SVC}WatchCampaign`), grpc.status.UNAUTHENTICATED, 'WatchCampaign');
    assert.equal(await stream('/grpc.health.v1.Health/Watch'), grpc.status.UNAUTHENTICATED, 'Health.Watch');
    assert.equal(await rawCall('../../grpc.health.v1.Health/Check'.replace('../../', ''), new Uint8Array(), new grpc.Metadata()).then((e) => e?.code), grpc.status.UNIMPLEMENTED);
  });

  it('answers a generated corpus of ≥ 1,000 malformed requests with INVALID_ARGUMENT and safe details: 0 crashes, nothing enqueued', async () => {
    const rnd = prng(15);
    const scenario = catalogEntry('cow-two-pages')!.scenario;
    const methods = ['StartCampaign', 'GetCampaign', 'CancelCampaign', 'ListFindings', 'GetFinding', 'Reproduce'];
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    let sent = 0;
    const codes = new Map<string, number>();
    const check = (what: string, e: grpc.ServiceError | null, allowed = [grpc.status.INVALID_ARGUMENT]) => {
      sent++;
      assert.ok(e, `${what}: accepted`);
      assert.ok(allowed.includes(e.code), `${what}: code ${e.code} (${e.details})`);
      assert.ok(e.details.length <= 12_000, `${what}: details of ${e.details.length} characters`);
      assert.ok(!hasLoneSurrogate(e.details) && !/[\u0000-\u001f\u007f-\u009f]/.test(e.details), `${what}: unescaped details ${escapeText(e.details, 200)}`);
      codes.set(grpc.status[e.code], (codes.get(grpc.status[e.code]) ?? 0) + 1);
    };
    for (let i = 0; i < 1100; i++) {
      const kind = i % 8;
      if (kind === 0) {
        // Garbage bytes.
        const n = 1 + Math.floor(rnd() * 64);
        const b = new Uint8Array(n);
        for (let k = 0; k < n; k++) b[k] = Math.floor(rnd() * 256);
        b[0] |= 0x80; // an unterminated varint: never a valid message
        b[n - 1] |= 0x80;
        check(`garbage #${i}`, await rawCall(pick(methods), b));
      } else if (kind === 1) {
        // A string field sent with a wire type for numbers; a number field sent as bytes.
        const m = pick(methods);
        const bytes = rnd() < 0.5 ? field(1, 0, varint(7)) : field(1, 5, [1, 2, 3, 4]);
        check(`wire type #${i} ${m}`, await rawCall(m, new Uint8Array(bytes)));
        check(`seed_count as bytes #${i}`, await rawCall('StartCampaign', new Uint8Array([...field(2, 2, [...varint(13), ...Buffer.from('cow-two-pages')]), ...field(9, 2, [1, 65])])));
      } else if (kind === 2 || kind === 3) {
        const bad = pick(NASTY);
        check(`scenario_json with ${escapeText(bad, 20)} #${i}`, await typedCall('StartCampaign', { scenario_json: JSON.stringify(mutate(scenario, rnd, bad)), seed_count: '10' }));
      } else if (kind === 4) {
        const bad = pick(NASTY);
        check(`variant_json #${i}`, await typedCall('StartCampaign', { scenario_name: 'cow-two-pages', variant_json: JSON.stringify({ name: 'v', sites: { [bad]: true } }), seed_count: '10' }));
      } else if (kind === 5) {
        const counts = ['0', '1000000000000000', '18446744073709551615', '100000000000', '200000'];
        // Past what the wire and the validator accept: INVALID_ARGUMENT; within them but past the
        // farm's limits (farm/limits.ts): RESOURCE_EXHAUSTED.
        check(`huge count #${i}`, await typedCall('StartCampaign', { scenario_name: 'cow-two-pages', seed_count: pick(counts), batch_size: 1 }), [grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]);
      } else if (kind === 6) {
        const bad = pick(NASTY);
        const m = pick(['GetCampaign', 'CancelCampaign', 'GetFinding', 'ListFindings', 'Reproduce']);
        const req = m === 'GetFinding' || m === 'Reproduce' ? { signature: bad } : m === 'ListFindings' ? { campaign: bad } : { id: bad };
        check(`${m} ${escapeText(bad, 20)} #${i}`, await typedCall(m, req), [grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND]);
      } else {
        // (A lone surrogate sent raw arrives as U+FFFD, protobuf strings being UTF-8: fine as a name.)
        const bad = pick(NASTY.filter((x) => /[\u0000-\u001f\u007f-\u009f]/.test(x) || x.length > 128));
        check(`name/strategy ${escapeText(bad, 30)} #${i}`, await typedCall('StartCampaign', { scenario_name: rnd() < 0.5 ? bad : 'cow-two-pages', name: bad, strategy: rnd() < 0.5 ? bad : '', seed_count: '10' }));
      }
    }
    assert.ok(sent >= 1000, `${sent} requests`);
    assert.ok(coordinator.alive, `coordinator died:\n${coordinator.err}`);
    const conn = connectRedis(redis.url);
    const q = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    try {
      assert.equal(await conn.zcard(keys.campaigns), 0, 'no campaign created');
      const counts = await q.getJobCounts();
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 0, `nothing enqueued: ${JSON.stringify(counts)}`);
    } finally {
      await q.close();
      await conn.quit();
    }
    // Still serving after the corpus.
    const e = await typedCall('ListCampaigns', {});
    assert.equal(e, null);
    console.log(`      ${sent} malformed requests, 0 crashes: ${JSON.stringify(Object.fromEntries(codes))}`);
  });
});
