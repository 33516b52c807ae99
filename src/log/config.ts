import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';
import type { BasinConfig, StreamConfig, TimestampingMode } from './types.js';

const TIMESTAMPING_MODES = ['client-prefer', 'client-require', 'arrival'] as const;

export const streamConfigSchema = z
  .object({
    timestamping: z
      .object({ mode: z.enum(TIMESTAMPING_MODES).optional(), uncapped: z.boolean().optional() })
      .strict()
      .optional(),
    retentionPolicy: z
      .union([
        z.object({ age: z.number().int().positive() }).strict(),
        z.object({ infinite: z.object({}).strict() }).strict(),
      ])
      .optional(),
    deleteOnEmpty: z.object({ minAgeSecs: z.number().int().nonnegative() }).strict().optional(),
    storageClass: z.enum(['standard', 'express']).optional(),
  })
  .strict();

export const basinConfigSchema = z
  .object({
    defaultStreamConfig: streamConfigSchema.optional(),
    createStreamOnAppend: z.boolean().optional(),
    createStreamOnRead: z.boolean().optional(),
  })
  .strict();

/**
 * Checks a stream config.
 *
 * @throws InvalidArgumentError naming the field and the rule.
 */
export function checkStreamConfig(config: unknown): StreamConfig {
  return parse(streamConfigSchema, config ?? {}, 'stream config') as StreamConfig;
}

/** @throws InvalidArgumentError naming the field and the rule. */
export function checkBasinConfig(config: unknown): BasinConfig {
  return parse(basinConfigSchema, config ?? {}, 'basin config') as BasinConfig;
}

/** The smallint stored in `ts_mode` for a timestamping mode. */
export function timestampingCode(mode: TimestampingMode | undefined): number {
  return mode === undefined ? 0 : TIMESTAMPING_MODES.indexOf(mode);
}

/** A config with `patch` laid over it, one level deep for `timestamping` (as S2's reconfigure does). */
export function mergeStreamConfig(config: StreamConfig, patch: StreamConfig): StreamConfig {
  const merged: StreamConfig = { ...config, ...patch };
  if (config.timestamping || patch.timestamping) {
    merged.timestamping = { ...config.timestamping, ...patch.timestamping };
  }
  return merged;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : '(root)';
  throw new InvalidArgumentError(`${what}: ${where}: ${issue.message}`, { cause: result.error });
}
