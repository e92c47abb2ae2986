import { Queue } from 'bullmq';
import { FarmStore } from '../farm/store.ts';
import { fuzzJobId, minimizeJobId, parseMinimizeJobId, type FuzzJobData, type MinimizeJobData, type ResultJobData } from '../farm/jobs.ts';
import { escapeText } from '../farm/safeText.ts';
import { ranges, type CampaignSpec } from '../farm/campaign.ts';
import { prefixJob } from '../farm/exhaustiveSpec.ts';
import type { Finding } from '../sim/finding.ts';
import { CoordinatorMetrics, type CampaignLabels } from '../farm/metrics.ts';
import { SimThread } from './simThread.ts';
import { DEFAULT_LIMITS, type FarmLimits } from '../farm/limits.ts';

/** BullMQ's largest priority (2^21). */
const MAX_PRIORITY = 2_097_152;

/** Campaigns of up to this many jobs are enqueued before StartCampaign answers (about 1 s here). */
export const SYNC_ENQUEUE_JOBS = 2000;

/** Queue operations the service and the result consumer share. */
export class Farm {
  constructor(
    readonly store: FarmStore,
    readonly fuzz: Queue<FuzzJobData>,
    readonly minimize: Queue<MinimizeJobData>,
    readonly log: (msg: string) => void,
    readonly metrics: CoordinatorMetrics = new CoordinatorMetrics({ defaultMetrics: false }),
    /** Replays and step estimates, off the event loop. */
    readonly sim: SimThread = new SimThread(),
    readonly limits: FarmLimits = DEFAULT_LIMITS,
  ) {}

  private readonly labels = new Map<string, CampaignLabels>();

  /** A campaign's metric labels (its spec never changes: cached). */
  private async campaignLabels(id: string): Promise<CampaignLabels> {
    let l = this.labels.get(id);
    if (!l) {
      const spec = await this.store.campaignSpec(id);
      l = { campaign: id, scenario: spec?.scenario.name ?? '', variant: spec?.variant.name ?? '', strategy: spec?.strategy.name ?? '' };
      if (this.labels.size > 1000) this.labels.clear();
      if (spec) this.labels.set(id, l);
    }
    return l;
  }

  /** Adds the fuzz job of every range not yet recorded (same job ids: re-adding is a no-op). */
  async enqueueCampaign(id: string, spec: CampaignSpec): Promise<number> {
    const done = await this.store.recordedRanges(id);
    return this.enqueueRanges(id, spec, (r) => !done.has(r.start));
  }

  private readonly enqueuing = new Map<string, Promise<number>>();
  private closing = false;

  /**
   * StartCampaign's enqueue. A campaign of up to SYNC_ENQUEUE_JOBS jobs is on the queue when the
   * call returns; a bigger one (100,000 jobs take minutes: BullMQ's prioritized add is a Lua call
   * per job) is created `pending`, answered at once, and enqueued here in the background, batch
   * by batch, so the client's deadline never runs out and workers start on the first batch. A
   * failed batch (Redis gone for a moment) is retried every second while the coordinator lives; a
   * coordinator that dies meanwhile finishes the campaign on restart (resume), the job ids making
   * a re-add a no-op. A cancel stops it at the next batch (purgeCancelled waits for it).
   */
  async enqueueStarted(id: string, spec: CampaignSpec): Promise<number> {
    if (spec.jobsTotal <= SYNC_ENQUEUE_JOBS) return this.enqueueCampaign(id, spec);
    this.enqueueTracked(id, spec).catch(() => {});
    return 0;
  }

  /** enqueueCampaign, retried while the coordinator lives, and known to purgeCancelled. */
  private enqueueTracked(id: string, spec: CampaignSpec): Promise<number> {
    let p = this.enqueuing.get(id);
    if (!p) {
      p = (async () => {
        for (;;) {
          try {
            return await this.enqueueCampaign(id, spec);
          } catch (e) {
            if (this.closing) throw e;
            this.log(`campaign ${id}: enqueue failed, retrying in 1 s: ${(e as Error).message}`);
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      })().finally(() => this.enqueuing.delete(id));
      p.then(
        (n) => this.log(`campaign ${id}: enqueued ${n} jobs`),
        (e) => this.log(`campaign ${id}: enqueue stopped, a restarted coordinator finishes it: ${(e as Error).message}`),
      );
      this.enqueuing.set(id, p);
    }
    return p;
  }

  /** Background enqueues still running (close() waits for them to stop). */
  async stopEnqueues(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.enqueuing.values()]);
  }

  /** Adds the fuzz jobs of the campaign's ranges that `want` selects, then marks it enqueued. */
  async enqueueRanges(id: string, spec: CampaignSpec, want: (r: { start: number; count: number }) => boolean): Promise<number> {
    let batch: { name: string; data: FuzzJobData; opts: { jobId: string; priority: number } }[] = [];
    let n = 0;
    /** Adds the batch; false once the campaign is cancelled (it gets no more jobs). */
    const flush = async (): Promise<boolean> => {
      // Closing stops here too: a restarted coordinator finishes the campaign (resume).
      if (this.closing) throw new Error('coordinator closing');
      if ((await this.store.campaignField(id, 'state')) === 'cancelled') return false;
      if (batch.length > 0) await this.fuzz.addBulk(batch);
      n += batch.length;
      batch = [];
      return true;
    };
    let index = 0;
    for (const r of ranges(spec)) {
      // Fairness: job k of every campaign has priority k + 1 (BullMQ takes the lowest first, FIFO
      // among equals), so concurrent campaigns interleave job by job and a small campaign started
      // behind a big one runs its first jobs next instead of after all of the big one's.
      const priority = Math.min(index + 1, MAX_PRIORITY);
      index++;
      if (!want(r)) continue;
      batch.push({
        name: 'fuzz',
        data: {
          campaign: id,
          scenario: spec.scenario,
          variant: spec.variant,
          strategy: spec.strategy,
          seedStart: r.start,
          seedCount: r.count,
          maxSteps: spec.scenario.world.maxSteps,
          coverage: spec.coverage === true,
          ...(spec.exhaustive ? { exhaustive: prefixJob(spec.exhaustive, r.start) } : {}),
          ...(spec.explore ? { explore: spec.explore } : {}),
        },
        opts: { jobId: fuzzJobId(id, r.start), priority },
      });
      if (batch.length >= 1000 && !(await flush())) return n;
    }
    if (!(await flush())) return n;
    await this.store.markEnqueued(id);
    return n;
  }

  /**
   * Jobs that failed every attempt (BullMQ's failed set): a fuzz job's range is recorded as failed
   * in its campaign (which then ends `incomplete` rather than waiting forever), a minimize job's
   * finding as `failed` with the reason (which releases the campaigns waiting on it). Each job is
   * removed once recorded, so a retry can add the same job id again; recording twice (a crash
   * between the two) changes nothing. Runs at start and then every few seconds.
   */
  async sweepFailed(): Promise<number> {
    let n = 0;
    for (const job of await this.fuzz.getFailed(0, 499)) {
      // The job id is the authority (`<campaign>_<seedStart>`): the data may be what broke it.
      const jid = String(job.id ?? '');
      const cut = jid.lastIndexOf('_');
      const campaign = jid.slice(0, cut);
      const seedStart = Number(jid.slice(cut + 1));
      const spec = cut > 0 && Number.isSafeInteger(seedStart) ? await this.store.campaignSpec(campaign) : null;
      if (spec) {
        const seedCount = Math.min(spec.batchSize, spec.seedStart + spec.seedCount - seedStart);
        const error = escapeText(`${job.failedReason || 'failed'} (after ${job.attemptsMade} attempts)`, 500);
        if (await this.store.recordFailedRange(campaign, { seedStart, seedCount, error })) {
          this.log(`campaign ${campaign}: seeds [${seedStart}, ${seedStart + seedCount}) failed for good: ${error}`);
          n++;
        }
      }
      await job.remove().catch(() => {});
    }
    for (const job of await this.minimize.getFailed(0, 499)) {
      const id = parseMinimizeJobId(String(job.id ?? ''));
      const reason = escapeText(`minimize job failed after ${job.attemptsMade} attempts: ${job.failedReason || 'failed'}`, 500);
      if (id) {
        await this.store.recordMinimized({ kind: 'minimized', signature: id.signature, gen: id.gen, ok: false, finding: null, trace: '', reason, elapsedMs: 0 });
        this.log(`finding ${id.signature}: ${reason}`);
        n++;
      }
      await job.remove().catch(() => {});
    }
    return n;
  }

  /**
   * `campaign retry`: re-enqueues the ranges that failed for good. Idempotent: the ranges are taken
   * atomically (a second retry finds none), a range counts once when recorded, and a stale failed
   * job is removed before its id is added again.
   */
  async retryCampaign(id: string): Promise<{ state: string; retried: number } | null> {
    const t = await this.store.takeFailedRanges(id);
    if (!t) return null;
    if (t.starts.length === 0) return { state: t.state, retried: 0 };
    const spec = await this.store.campaignSpec(id);
    if (!spec) return { state: t.state, retried: 0 };
    const want = new Set(t.starts);
    for (const s of t.starts) {
      const job = await this.fuzz.getJob(fuzzJobId(id, s));
      if (job && (await job.isFailed())) await job.remove().catch(() => {});
    }
    const n = await this.enqueueRanges(id, spec, (r) => want.has(r.start));
    this.log(`campaign ${id}: retrying ${n} failed ranges`);
    return { state: t.state, retried: n };
  }

  private readonly purging = new Map<string, Promise<number>>();

  /**
   * Removes the waiting fuzz jobs of a cancelled campaign in the background (CancelCampaign answers
   * at once; workers skip a cancelled campaign's jobs meanwhile). Fuzz jobs sit in BullMQ's
   * prioritized set (see enqueueRanges), where removing one is O(log n), and removals go 500 at a
   * time, so this is linear in the campaign's jobs. `purged` marks the end; a restarted coordinator
   * finishes an interrupted purge.
   */
  purgeCancelled(id: string): Promise<number> {
    let p = this.purging.get(id);
    if (!p) {
      p = (async () => {
        // A background enqueue stops at its next batch; what it added before is removed here.
        await this.enqueuing.get(id)?.catch(() => 0);
        const t0 = Date.now();
        const spec = await this.store.campaignSpec(id);
        if (!spec) return 0;
        const done = await this.store.recordedRanges(id);
        let removed = 0;
        let ids: string[] = [];
        const flush = async () => {
          const rs = await Promise.all(ids.map((j) => this.fuzz.remove(j).catch(() => 0)));
          removed += rs.reduce((a: number, b) => a + (b ? 1 : 0), 0);
          ids = [];
        };
        for (const r of ranges(spec)) {
          if (done.has(r.start)) continue;
          ids.push(fuzzJobId(id, r.start));
          if (ids.length >= 500) await flush();
        }
        await flush();
        await this.store.markPurged(id);
        this.log(`campaign ${id} cancelled: removed ${removed} waiting jobs in ${Date.now() - t0} ms`);
        return removed;
      })().finally(() => this.purging.delete(id));
      p.catch((e) => this.log(`campaign ${id}: removing its jobs failed: ${(e as Error).message}`));
      this.purging.set(id, p);
    }
    return p;
  }

  async enqueueMinimize(sig: string, gen: number, finding: Finding, campaign: string): Promise<void> {
    await this.minimize.add('minimize', { signature: sig, finding, gen }, { jobId: minimizeJobId(sig, gen) });
    // A lower seed replaced the previous generation: its shrink is no longer wanted (a waiting job
    // goes; a running one finishes and its result is ignored).
    if (gen > 1) await this.minimize.remove(minimizeJobId(sig, gen - 1)).catch(() => 0);
    // The first new → queued of a signature: count it as new to the farm then.
    if (await this.store.markQueued(sig, gen)) {
      this.metrics.newSignature({ campaign, scenario: finding.scenario.name, variant: finding.variant.name }, finding.oracle);
    }
  }

  async consume(data: ResultJobData): Promise<void> {
    if (data.kind === 'fuzz') {
      const r = await this.store.recordFuzz(data);
      if (r.recorded) this.metrics.fuzzRecorded(await this.campaignLabels(data.campaign), data);
      for (const { signature, gen } of r.newSignatures) {
        const f = data.findings.find((x) => x.signature === signature)!;
        await this.enqueueMinimize(signature, gen, f, data.campaign);
      }
    } else {
      await this.store.recordMinimized(data);
    }
  }

  /** After a restart: finish enqueueing half-enqueued campaigns, queue minimize jobs left unqueued. */
  async resume(): Promise<void> {
    for (const id of await this.store.activeCampaigns()) {
      if ((await this.store.campaignField(id, 'enqueued')) === '1') continue;
      const spec = await this.store.campaignSpec(id);
      if (spec) {
        this.log(`resuming campaign ${id}: enqueueing its jobs`);
        await this.enqueueTracked(id, spec);
      }
    }
    for (const sig of await this.store.unqueuedFindings()) {
      const rec = await this.store.getFinding(sig);
      if (rec) await this.enqueueMinimize(sig, rec.gen, rec.raw, rec.summary.campaign);
    }
    for (const id of await this.store.unpurgedCancelled()) void this.purgeCancelled(id);
    await this.sweepFailed();
  }
}
