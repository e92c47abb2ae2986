import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { LimitExceeded, limitEnvName, type FarmLimits } from '../farm/limits.ts';
import { validateCampaign, type CampaignSpec, type StartCampaignInput } from '../farm/campaign.ts';
import type { CampaignView } from '../farm/store.ts';
import type { OracleName } from '../sim/oracles/violation.ts';
import type { Farm } from './farm.ts';
// A cycle with service.ts, harmless: RpcError is only used when a call runs.
import { RpcError } from './service.ts';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export interface LaunchOptions {
  /**
   * Exhaustive only: the oracles the search stops at (default any race oracle). Not in the API:
   * the comparison driver (the farm comparison) sets it, as sim/compare/cell.ts's search does.
   */
  readonly target?: readonly OracleName[];
}

/** The farm's limits (farm/limits.ts): per campaign first, then farm-wide. */
async function checkLimits(farm: Farm, spec: CampaignSpec): Promise<void> {
  const l: FarmLimits = farm.limits;
  const over = (k: keyof FarmLimits, what: string) => new LimitExceeded(`${what} (this farm's limit is ${l[k]}, ${limitEnvName(k)} on the coordinator)`);
  if (spec.seedCount > l.maxSeedsPerCampaign) throw over('maxSeedsPerCampaign', `seed_count: ${spec.seedCount} seeds is more than one campaign may run`);
  if (spec.jobsTotal > l.maxJobsPerCampaign) {
    if (spec.exhaustive) throw over('maxJobsPerCampaign', `split: ${spec.jobsTotal} prefix jobs are more than one campaign may have; ask for fewer`);
    throw over('maxJobsPerCampaign', `batch_size: ${spec.batchSize} splits ${spec.seedCount} seeds into ${spec.jobsTotal} jobs, more than one campaign may have; use a larger batch`);
  }
  const active = (await farm.store.activeCampaigns()).length;
  if (active >= l.maxActiveCampaigns) throw over('maxActiveCampaigns', `campaigns: ${active} campaigns are already pending or running; wait for one to end or cancel one`);
  const queued = await farm.fuzz.getJobCountByTypes('waiting', 'delayed', 'prioritized');
  if (queued + spec.jobsTotal > l.maxQueuedJobs) {
    throw over('maxQueuedJobs', `seed_count: ${spec.jobsTotal} more jobs would make ${queued + spec.jobsTotal} queued fuzz jobs`);
  }
}

/**
 * The spec a validated request runs: PCT's run length estimated, or an exhaustive campaign's
 * search split into decision prefixes (farm/split.ts) — both on the coordinator's simulation
 * thread, never on its event loop. One job per prefix: the "seeds" are prefix indexes.
 */
async function prepare(farm: Farm, checked: CampaignSpec, opts: LaunchOptions): Promise<CampaignSpec> {
  if (!checked.exhaustive) {
    const kSteps = await farm.sim.estimateSteps(checked.scenario, checked.variant.sites);
    return { ...checked, strategy: { ...checked.strategy, kSteps } };
  }
  const x = checked.exhaustive;
  const prefixes = await farm.sim.splitSearch(checked.scenario, checked.variant.sites, x.bound, x.split, farm.limits.maxJobsPerCampaign);
  const spec: CampaignSpec = { ...checked, seedCount: prefixes.length, jobsTotal: prefixes.length, exhaustive: { ...x, target: opts.target ?? null, prefixes } };
  await checkLimits(farm, spec);
  return spec;
}

/**
 * StartCampaign: validates, checks the limits, creates the campaign and enqueues its jobs (a big
 * campaign answers `pending` and is enqueued in the background: Farm.enqueueStarted). With a
 * request id, a retry returns the campaign the first call created, whatever became of that call;
 * the same id with a different request is FAILED_PRECONDITION.
 */
export async function launchCampaign(farm: Farm, req: StartCampaignInput, opts: LaunchOptions = {}): Promise<CampaignView> {
  const { store } = farm;
  const rid = req.request_id ?? '';
  if (rid !== '' && !REQUEST_ID_RE.test(rid)) {
    throw new RpcError(grpc.status.INVALID_ARGUMENT, `request_id: ${JSON.stringify(rid)} is not 1 to 128 of A-Z a-z 0-9 . _ : -`);
  }
  const digest = rid === '' ? '' : createHash('sha256').update(JSON.stringify({ ...req, request_id: '', ...(opts.target ? { target: opts.target } : {}) })).digest('hex');
  const view = async (id: string) => {
    const c = await store.getCampaign(id);
    if (!c) throw new RpcError(grpc.status.NOT_FOUND, `id: no campaign ${JSON.stringify(id)}`);
    return c;
  };
  const same = async (prior: { id: string; digest: string }) => {
    if (prior.digest !== digest) {
      throw new RpcError(grpc.status.FAILED_PRECONDITION, `request_id: ${JSON.stringify(rid)} already started campaign ${prior.id} with a different request`);
    }
    return view(prior.id);
  };
  const prior = rid === '' ? null : await store.requestCampaign(rid);
  if (prior) return same(prior);
  const checked = validateCampaign(req, { estimate: false });
  await checkLimits(farm, checked);
  const spec = await prepare(farm, checked, opts);
  const created = await store.createCampaign(spec, rid === '' ? undefined : { id: rid, digest });
  if (created.existing) return same(created);
  const id = created.id;
  const n = await farm.enqueueStarted(id, spec);
  const what = spec.exhaustive
    ? `K=${spec.exhaustive.bound}, ${spec.jobsTotal} prefixes`
    : spec.explore
      ? `programs ${spec.seedStart}+${spec.seedCount}, ${spec.explore.schedules} ${spec.explore.strategy} schedules each`
      : `seeds ${spec.seedStart}+${spec.seedCount}`;
  const queued = n === spec.jobsTotal ? `in ${n} jobs` : `in ${spec.jobsTotal} jobs (${n} queued now, the rest in the background)`;
  farm.log(`campaign ${id}: ${spec.scenario.name} / ${spec.variant.name} / ${spec.strategy.name}, ${what} ${queued}`);
  return view(id);
}
