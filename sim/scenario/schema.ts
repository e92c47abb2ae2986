import { z } from 'zod';
import { LIMITS } from './limits.ts';

const name = z
  .string()
  .min(1)
  .max(LIMITS.nameLength)
  .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'must start with a letter and use only letters, digits, _ . -');

const int = z.number().int();

/** The structural shape of docs/scenario-format.md; cross-references (pages, devices, ops per thread kind) are checked after. */
export const scenarioSchema = z
  .object({
    name,
    description: z.string().max(500).optional(),
    variant: z.string().max(200).optional(),
    world: z
      .object({
        frames: int.min(LIMITS.frames.min).max(LIMITS.frames.max).default(16),
        cells: int.min(LIMITS.cells.min).max(LIMITS.cells.max).default(4),
        ptLock: z.enum(['per-page', 'single']).default('per-page'),
        iommu: z.enum(['amd-v2', 'intel-svm', 'arm-smmu-v3', 'none']).default('amd-v2'),
        kvm: z.boolean().default(false),
        maxSteps: int.min(LIMITS.maxSteps.min).max(LIMITS.maxSteps.max).default(2000),
        maxRetries: int.min(LIMITS.maxRetries.min).max(LIMITS.maxRetries.max).default(8),
        ecapDis: z.boolean().optional(),
      })
      .strict()
      .default({ frames: 16, cells: 4, ptLock: 'per-page', iommu: 'amd-v2', kvm: false, maxSteps: 2000, maxRetries: 8 }),
    pages: z
      .record(
        z.string(),
        z
          .object({
            cells: z.array(int).max(LIMITS.cells.max).optional(),
            cow: z.boolean().optional(),
            swapped: z.boolean().optional(),
            file: z.boolean().optional(),
            apicAccess: z.boolean().optional(),
          })
          .strict(),
      )
      .refine((r) => Object.keys(r).length >= 1, 'at least one page is needed')
      .refine((r) => Object.keys(r).length <= LIMITS.pages, `at most ${LIMITS.pages} pages`),
    devices: z
      .array(z.object({ name, ats: z.boolean().default(true) }).strict())
      .max(LIMITS.devices)
      .default([]),
    threads: z
      .array(
        z
          .object({
            name,
            on: z.string(),
            ops: z.array(z.array(z.union([z.string(), z.number()]))).max(LIMITS.opsPerThread),
          })
          .strict(),
      )
      .min(1)
      .max(LIMITS.threads),
  })
  .strict();

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioParsed = z.output<typeof scenarioSchema>;
