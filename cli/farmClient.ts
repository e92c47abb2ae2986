import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../farm/proto.ts';
import type { CampaignState, CampaignView, FindingStatus, FindingSummary } from '../farm/store.ts';
import type { StartCampaignInput } from '../farm/campaign.ts';
import type { ComparisonView } from '../farm/comparisonStore.ts';
import type { CellResult } from '../sim/compare/cell.ts';

export interface FindingDetail {
  summary: FindingSummary;
  findingJson: string;
  trace: string;
  reason: string;
}

export interface ReproduceResult {
  reproduced: boolean;
  reason: string;
  trace: string;
  signatureMatches: boolean;
  oracle: string;
}

export type CampaignEvent = { progress: CampaignView } | { finding: FindingSummary };

/** A gRPC error from the coordinator: its status code and details (which name the bad field). */
export function isGrpcError(e: unknown): e is grpc.ServiceError {
  return typeof e === 'object' && e !== null && 'code' in e && 'details' in e;
}

const n = (v: unknown) => (v === undefined || v === null || v === '' ? 0 : Number(v));

export function campaignFromMessage(m: any): CampaignView {
  return {
    id: m.id,
    name: m.name,
    state: m.state as CampaignState,
    scenario: m.scenario,
    variant: m.variant,
    strategy: m.strategy,
    depth: n(m.depth),
    seedStart: n(m.seed_start),
    seedCount: n(m.seed_count),
    batchSize: n(m.batch_size),
    jobsTotal: n(m.jobs_total),
    jobsDone: n(m.jobs_done),
    schedules: n(m.schedules),
    steps: n(m.steps),
    byOracle: Object.fromEntries(Object.entries((m.by_oracle ?? {}) as Record<string, string>).map(([k, v]) => [k, Number(v)])),
    uniqueSignatures: n(m.unique_signatures),
    minimizePending: n(m.minimize_pending),
    createdAtMs: n(m.created_at_ms),
    finishedAtMs: n(m.finished_at_ms),
    coverage: m.coverage === true,
    coverageFeatures: n(m.coverage_features),
    computeMs: n(m.compute_ms),
    failedRanges: ((m.failed_ranges ?? []) as any[]).map((r) => ({ seedStart: n(r.seed_start), seedCount: n(r.seed_count), error: String(r.error ?? '') })),
    failedRangeCount: n(m.failed_range_count),
    certificate: m.certificate ? certificateFromMessage(m.certificate) : null,
  };
}

function certificateFromMessage(c: any): NonNullable<CampaignView['certificate']> {
  return {
    complete: c.complete === true,
    bound: n(c.bound),
    schedules: n(c.schedules),
    pruned: n(c.pruned),
    verdicts: [...((c.verdicts ?? []) as string[])],
    prefixes: n(c.prefixes),
    prefixesDone: n(c.prefixes_done),
    exact: c.exact === true,
    stoppedBy: c.stopped_by === '' || c.stopped_by === undefined ? null : c.stopped_by,
    race: c.race_signature ? { prefix: n(c.race_prefix), signature: c.race_signature, oracle: c.race_oracle } : null,
    maxSchedules: n(c.max_schedules),
    exploredSchedules: n(c.explored_schedules),
  };
}

export function findingFromMessage(m: any): FindingSummary {
  return {
    signature: m.signature,
    oracle: m.oracle,
    scenario: m.scenario,
    variant: m.variant,
    seed: n(m.seed),
    status: m.status as FindingStatus,
    message: m.message,
    campaign: m.campaign,
  };
}

/** A StartComparison request (proto StartComparisonRequest). */
export interface StartComparisonRequest {
  name?: string;
  scenarios: { name?: string; json?: string }[];
  variants: { preset?: string; json?: string }[];
  preemptions?: number;
  seeds?: number;
  max_schedules?: string;
  split?: number;
  request_id?: string;
}

export function comparisonFromMessage(m: any): ComparisonView {
  return {
    id: m.id,
    name: m.name,
    state: m.state,
    scenarios: [...(m.scenarios ?? [])],
    variants: [...(m.variants ?? [])],
    budget: { bound: n(m.bound), seeds: n(m.seeds), maxSchedules: n(m.max_schedules), pctDepth: n(m.pct_depth), shrinkRuns: 0 },
    split: n(m.split),
    cells: ((m.cells ?? []) as any[]).map((c) => ({
      index: n(c.index),
      scenario: c.scenario,
      variant: c.variant,
      state: c.state,
      result: c.result_json ? (JSON.parse(c.result_json) as CellResult) : null,
      campaigns: [...(c.campaigns ?? [])],
      error: c.error ?? '',
    })),
    createdAtMs: n(m.created_at_ms),
    finishedAtMs: n(m.finished_at_ms),
  };
}

export interface ClientOptions {
  readonly token?: string;
  /** Per-call deadline (ms) for unary calls. */
  readonly timeoutMs?: number;
  /** Speak TLS and trust this CA (PEM) for the coordinator's certificate; absent: plaintext. */
  readonly tlsCa?: Buffer;
}

/**
 * The largest answer the client accepts. grpc-js's default is 4 MiB, and a finding is bigger than
 * that when its run is long: GetFinding of the 8-device livelock at maxSteps 1,000,000 (the format's
 * limit) is 8.4 MiB — the found and the minimized file each carry every decision, since a finding
 * must replay — and failed with RESOURCE_EXHAUSTED (bench/livelockRss.ts). 64 MiB leaves room for
 * any finding the format allows; the trace in it is bounded by the coordinator.
 */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/** A promise-based client of the coordinator's Farm and health services. */
export class FarmClient {
  private readonly farm: grpc.Client & Record<string, any>;
  private readonly health: grpc.Client & Record<string, any>;
  private readonly timeoutMs: number;
  private readonly token: string | undefined;

  constructor(readonly address: string, opts: ClientOptions = {}) {
    const { farm, health } = loadProtos();
    const creds = opts.tlsCa ? grpc.credentials.createSsl(opts.tlsCa) : grpc.credentials.createInsecure();
    const channel = { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES };
    this.farm = new farm(address, creds, channel) as any;
    this.health = new health(address, creds, channel) as any;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.token = opts.token;
  }

  private md(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  private call<T>(client: Record<string, any>, method: string, req: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise((resolve, reject) => {
      client[method](req, this.md(), { deadline: Date.now() + timeoutMs }, (e: grpc.ServiceError | null, res: T) => (e ? reject(e) : resolve(res)));
    });
  }

  async startCampaign(req: StartCampaignInput): Promise<CampaignView> {
    return campaignFromMessage(await this.call(this.farm, 'StartCampaign', req, Math.max(this.timeoutMs, 120_000)));
  }
  async startComparison(req: StartComparisonRequest): Promise<ComparisonView> {
    return comparisonFromMessage(await this.call(this.farm, 'StartComparison', req, Math.max(this.timeoutMs, 120_000)));
  }
  async getComparison(id: string): Promise<ComparisonView> {
    return comparisonFromMessage(await this.call(this.farm, 'GetComparison', { id }));
  }
  async cancelComparison(id: string): Promise<ComparisonView> {
    return comparisonFromMessage(await this.call(this.farm, 'CancelComparison', { id }));
  }
  async getCampaign(id: string): Promise<CampaignView> {
    return campaignFromMessage(await this.call(this.farm, 'GetCampaign', { id }));
  }
  async cancelCampaign(id: string): Promise<CampaignView> {
    return campaignFromMessage(await this.call(this.farm, 'CancelCampaign', { id }, Math.max(this.timeoutMs, 120_000)));
  }
  async retryCampaign(id: string): Promise<CampaignView> {
    return campaignFromMessage(await this.call(this.farm, 'RetryCampaign', { id }, Math.max(this.timeoutMs, 120_000)));
  }
  async listCampaigns(limit = 100): Promise<CampaignView[]> {
    const r = await this.call<{ campaigns: unknown[] }>(this.farm, 'ListCampaigns', { limit });
    return r.campaigns.map(campaignFromMessage);
  }
  async listFindings(campaign = ''): Promise<FindingSummary[]> {
    const r = await this.call<{ findings: unknown[] }>(this.farm, 'ListFindings', { campaign });
    return r.findings.map(findingFromMessage);
  }
  /** The farm's finding of a signature, or (with `campaign`) that campaign's. */
  async getFinding(signature: string, campaign = ''): Promise<FindingDetail> {
    const r = await this.call<any>(this.farm, 'GetFinding', { signature, campaign });
    return { summary: findingFromMessage(r.summary), findingJson: r.finding_json, trace: r.trace, reason: r.reason };
  }
  async reproduce(req: { signature?: string; findingJson?: string }): Promise<ReproduceResult> {
    const r = await this.call<any>(this.farm, 'Reproduce', { signature: req.signature ?? '', finding_json: req.findingJson ?? '' });
    return { reproduced: r.reproduced, reason: r.reason, trace: r.trace, signatureMatches: r.signature_matches, oracle: r.oracle };
  }

  /** grpc.health.v1 Check: SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN. */
  async healthCheck(service = ''): Promise<string> {
    const r = await this.call<{ status: string }>(this.health, 'Check', { service });
    return r.status;
  }

  /**
   * Streams a campaign's events until it ends (done, incomplete or cancelled); resolves with the last progress.
   * `deadlineMs` bounds the whole stream.
   */
  watchCampaign(id: string, onEvent: (e: CampaignEvent) => void, deadlineMs?: number): Promise<CampaignView | undefined> {
    return new Promise((resolve, reject) => {
      const opts: grpc.CallOptions = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
      const stream: grpc.ClientReadableStream<any> = this.farm.WatchCampaign({ id }, this.md(), opts);
      let last: CampaignView | undefined;
      stream.on('data', (m: any) => {
        if (m.progress) {
          last = campaignFromMessage(m.progress);
          onEvent({ progress: last });
        } else if (m.finding) onEvent({ finding: findingFromMessage(m.finding) });
      });
      stream.on('error', reject);
      stream.on('end', () => resolve(last));
    });
  }

  close(): void {
    this.farm.close();
    this.health.close();
  }
}
