import * as grpc from '@grpc/grpc-js';
import { InputError } from '../sim/scenario/errors.ts';
import { MalformedRequest } from './strictDecode.ts';
import { escapeLines, escapeText } from '../farm/safeText.ts';
import { checkFindingShape } from '../sim/replay.ts';
import { SimBusy } from './simThread.ts';
import { LimitExceeded } from '../farm/limits.ts';
import type { TraceOutcome } from './simTasks.ts';
import type { Finding } from '../sim/finding.ts';
import type { StartCampaignInput } from '../farm/campaign.ts';
import { launchCampaign } from './launch.ts';
import { Comparisons, comparisonMessage, type StartComparisonInput } from './comparison.ts';
import { TERMINAL_STATES, type CampaignView, type FindingSummary } from '../farm/store.ts';
import type { Farm } from './farm.ts';

/** A gRPC error with a status code; the details name the field at fault. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The status a handler's error becomes. Details quote client text, so they are always escaped
 * (control characters, lone surrogates) and capped: see farm/safeText.ts.
 */
export function toStatus(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof RpcError) return { code: e.code, details: escapeText(e.message) };
  if (e instanceof InputError) return { code: grpc.status.INVALID_ARGUMENT, details: escapeLines(e.problems).join('; ') };
  if (e instanceof LimitExceeded) return { code: grpc.status.RESOURCE_EXHAUSTED, details: escapeText(e.message) };
  if (e instanceof SimBusy) return { code: grpc.status.RESOURCE_EXHAUSTED, details: escapeText(e.message) };
  return { code: grpc.status.INTERNAL, details: escapeText(`internal error: ${(e as Error)?.message ?? String(e)}`) };
}

export function campaignMessage(c: CampaignView) {
  return {
    id: c.id,
    name: c.name,
    state: c.state,
    scenario: c.scenario,
    variant: c.variant,
    strategy: c.strategy,
    depth: c.depth,
    seed_start: String(c.seedStart),
    seed_count: String(c.seedCount),
    batch_size: c.batchSize,
    jobs_total: c.jobsTotal,
    jobs_done: c.jobsDone,
    schedules: String(c.schedules),
    steps: String(c.steps),
    by_oracle: Object.fromEntries(Object.entries(c.byOracle).map(([k, v]) => [k, String(v)])),
    unique_signatures: c.uniqueSignatures,
    minimize_pending: c.minimizePending,
    created_at_ms: String(c.createdAtMs),
    finished_at_ms: String(c.finishedAtMs),
    coverage: c.coverage,
    coverage_features: c.coverageFeatures,
    compute_ms: String(c.computeMs),
    failed_ranges: c.failedRanges.map((r) => ({ seed_start: String(r.seedStart), seed_count: String(r.seedCount), error: r.error })),
    failed_range_count: c.failedRangeCount,
    ...(c.certificate ? { certificate: certificateMessage(c.certificate) } : {}),
  };
}

function certificateMessage(x: NonNullable<CampaignView['certificate']>) {
  return {
    complete: x.complete,
    bound: x.bound,
    schedules: String(x.schedules),
    pruned: String(x.pruned),
    verdicts: [...x.verdicts],
    prefixes: x.prefixes,
    prefixes_done: x.prefixesDone,
    exact: x.exact,
    stopped_by: x.stoppedBy ?? '',
    race_signature: x.race?.signature ?? '',
    race_oracle: x.race?.oracle ?? '',
    race_prefix: x.race?.prefix ?? 0,
    max_schedules: String(x.maxSchedules),
    explored_schedules: String(x.exploredSchedules),
  };
}

export function findingMessage(f: FindingSummary) {
  return { ...f, seed: String(f.seed) };
}


const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SIG_RE = /^[0-9a-f]{1,64}$/;

function campaignId(req: { id?: string }): string {
  const id = req.id ?? '';
  if (!ID_RE.test(id)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `id: ${id === '' ? 'required' : `${JSON.stringify(id)} is not a campaign id`}`);
  return id;
}

type Unary = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => void;

/**
 * A unary handler behind a guard: whatever the handler throws (synchronously or not), and even
 * when answering throws (a response grpc-js cannot encode), the call ends with a status and the
 * process lives on; unexpected errors answer INTERNAL and are logged.
 */
function unary(fn: (req: any) => Promise<unknown>, log: (msg: string) => void): Unary {
  return (call, cb) => {
    const fail = (e: unknown) => {
      const st = toStatus(e);
      if (st.code === grpc.status.INTERNAL) log(`rpc ${call.getPath?.() ?? ''}: ${st.details} ${escapeText((e as Error)?.stack ?? '', 4000)}`);
      try {
        cb(st as grpc.ServiceError);
      } catch (e2) {
        log(`rpc ${call.getPath?.() ?? ''}: could not send the error: ${escapeText(String(e2))}`);
      }
    };
    let p: Promise<unknown>;
    try {
      if (call.request instanceof MalformedRequest) throw new RpcError(grpc.status.INVALID_ARGUMENT, `request: ${call.request.problem}`);
      p = fn(call.request);
    } catch (e) {
      fail(e);
      return;
    }
    p.then((res) => {
      try {
        cb(null, res);
      } catch (e) {
        fail(e);
      }
    }, fail);
  };
}

/** The Farm service handlers over a Farm (store + queues). */
export function farmService(farm: Farm): { handlers: grpc.UntypedServiceImplementation; stop(): void } {
  const { store } = farm;
  const watchers = new Set<() => void>();
  // Farm comparisons (coordinator/comparison.ts): running ones are driven on from here.
  const comparisons = new Comparisons(farm);
  void comparisons.resume().catch((e) => farm.log(`resuming comparisons: ${(e as Error).message}`));

  const getCampaign = async (id: string) => {
    const c = await store.getCampaign(id);
    if (!c) throw new RpcError(grpc.status.NOT_FOUND, `id: no campaign ${JSON.stringify(id)}`);
    return c;
  };

  const unaryG = (fn: (req: any) => Promise<unknown>) => unary(fn, farm.log);
  const handlers: grpc.UntypedServiceImplementation = {
    StartCampaign: unaryG(async (req: StartCampaignInput) => campaignMessage(await launchCampaign(farm, req))),

    GetCampaign: unaryG(async (req) => campaignMessage(await getCampaign(campaignId(req)))),

    StartComparison: unaryG(async (req: StartComparisonInput) => comparisonMessage(await comparisons.start(req))),

    GetComparison: unaryG(async (req) => comparisonMessage(await comparisons.get(campaignId(req)))),

    CancelComparison: unaryG(async (req) => comparisonMessage(await comparisons.cancel(campaignId(req)))),

    CancelCampaign: unaryG(async (req) => {
      const id = campaignId(req);
      const st = await store.cancel(id);
      if (st === null) throw new RpcError(grpc.status.NOT_FOUND, `id: no campaign ${JSON.stringify(id)}`);
      // Its waiting jobs go in the background; the answer does not wait for them.
      if (st === 'cancelled') void farm.purgeCancelled(id);
      return campaignMessage(await getCampaign(id));
    }),

    RetryCampaign: unaryG(async (req) => {
      const id = campaignId(req);
      const r = await farm.retryCampaign(id);
      if (r === null) throw new RpcError(grpc.status.NOT_FOUND, `id: no campaign ${JSON.stringify(id)}`);
      return campaignMessage(await getCampaign(id));
    }),

    ListCampaigns: unaryG(async (req: { limit?: number }) => ({
      campaigns: (await store.listCampaigns(req.limit && req.limit > 0 ? Math.min(req.limit, 1000) : 100)).map(campaignMessage),
    })),

    ListFindings: unaryG(async (req: { campaign?: string }) => {
      const c = req.campaign ?? '';
      if (c !== '') {
        campaignId({ id: c });
        await getCampaign(c);
      }
      return { findings: (await store.listFindings(c || undefined)).map(findingMessage) };
    }),

    GetFinding: unaryG(async (req: { signature?: string; campaign?: string }) => {
      const sig = req.signature ?? '';
      if (!SIG_RE.test(sig)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `signature: ${sig === '' ? 'required' : `${JSON.stringify(sig)} is not a signature`}`);
      const camp = req.campaign ?? '';
      if (camp !== '' && !ID_RE.test(camp)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `campaign: ${JSON.stringify(camp)} is not a campaign id`);
      if (camp !== '' && !(await store.getCampaign(camp))) throw new RpcError(grpc.status.NOT_FOUND, `campaign: no campaign ${JSON.stringify(camp)}`);
      const rec = camp !== '' ? await store.campaignFindingRecord(camp, sig) : await store.getFinding(sig);
      if (!rec) throw new RpcError(grpc.status.NOT_FOUND, `signature: no finding ${sig}${camp !== '' ? ` in campaign ${camp}` : ''}`);
      const f = rec.minimized ?? rec.raw;
      // The stored trace (bounded: the minimize job renders it with sim/trace/table.ts's cap); a
      // finding not minimized yet has none. GetFinding never replays on the event loop.
      const trace = rec.trace;
      return { summary: findingMessage(rec.summary), finding_json: JSON.stringify(f, null, 2), trace, reason: rec.reason };
    }),

    Reproduce: unaryG(async (req: { signature?: string; finding_json?: string }) => {
      const sig = req.signature ?? '';
      const json = req.finding_json ?? '';
      let f: Finding;
      if ((sig === '') === (json === '')) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'signature: give exactly one of signature and finding_json');
      if (sig !== '') {
        if (!SIG_RE.test(sig)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `signature: ${JSON.stringify(sig)} is not a signature`);
        const rec = await store.getFinding(sig);
        if (!rec) throw new RpcError(grpc.status.NOT_FOUND, `signature: no finding ${sig}`);
        f = rec.minimized ?? rec.raw;
      } else {
        let parsed: unknown;
        try {
          parsed = JSON.parse(json);
        } catch (e) {
          throw new RpcError(grpc.status.INVALID_ARGUMENT, `finding_json: not valid JSON (${(e as Error).message})`);
        }
        try {
          f = checkFindingShape(parsed);
        } catch (e) {
          if (e instanceof InputError) throw new RpcError(grpc.status.INVALID_ARGUMENT, e.problems.map((p) => `finding_json.${p}`).join('; '));
          throw e;
        }
      }
      let t: TraceOutcome;
      try {
        t = await farm.sim.trace(f);
      } catch (e) {
        if (e instanceof InputError) throw new RpcError(grpc.status.INVALID_ARGUMENT, e.problems.map((p) => `finding_json.${p}`).join('; '));
        throw e;
      }
      return { reproduced: t.reproduced, reason: t.reason, trace: t.trace, signature_matches: t.signatureMatches, oracle: t.oracle };
    }),

    WatchCampaign: (call: grpc.ServerWritableStream<any, any>) => {
      let id: string;
      try {
        if (call.request instanceof MalformedRequest) throw new RpcError(grpc.status.INVALID_ARGUMENT, `request: ${call.request.problem}`);
        id = campaignId(call.request);
      } catch (e) {
        const st = toStatus(e);
        call.destroy(Object.assign(new Error(st.details), st));
        return;
      }
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        watchers.delete(shutdown);
      };
      const shutdown = () => {
        stop();
        call.end();
      };
      watchers.add(shutdown);
      call.on('cancelled', stop);
      call.on('close', stop);
      let last = '';
      const sent = new Map<string, string>();
      const tick = async () => {
        if (stopped) return;
        try {
          const c = await store.getCampaign(id);
          if (!c) {
            stop();
            call.destroy(Object.assign(new Error(`id: no campaign ${JSON.stringify(id)}`), { code: grpc.status.NOT_FOUND }));
            return;
          }
          for (const f of await store.listFindings(id)) {
            const key = `${f.status}/${f.seed}`;
            if (sent.get(f.signature) === key) continue;
            sent.set(f.signature, key);
            if (!stopped) call.write({ finding: findingMessage(f) });
          }
          const msg = campaignMessage(c);
          const key = JSON.stringify(msg);
          if (key !== last && !stopped) {
            last = key;
            call.write({ progress: msg });
          }
          if (TERMINAL_STATES.has(c.state)) {
            stop();
            call.end();
            return;
          }
        } catch {
          // Redis away (restarting): keep polling; the client's deadline bounds the wait.
        }
        if (!stopped) timer = setTimeout(() => void tick(), 200);
      };
      void tick();
    },
  };

  return {
    handlers,
    stop() {
      comparisons.stop();
      for (const w of [...watchers]) w();
    },
  };
}
