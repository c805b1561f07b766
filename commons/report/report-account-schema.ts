import * as z from 'zod/mini';
import type { ReportAccount } from '../run';
import '../zod-locale';

/**
 * One account's line of the report as it crosses a boundary: a record task's output read back by
 * WriteReport, or a report.json read by the CLI. Fields beyond the contract are kept (loose
 * objects), so a later addition to the record task's output reaches the report without an edit
 * here.
 */
const stepResultSchema = z.looseObject({
  action: z.enum(['created', 'updated', 'unchanged', 'skipped']),
  reason: z.optional(z.string()),
  details: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
});

export const reportAccountSchema = z.looseObject({
  accountId: z.string().check(z.regex(/^\d{12}$/)),
  name: z.string(),
  ou: z.string(),
  outcome: z.enum(['SUCCEEDED', 'FAILED', 'SKIPPED']),
  changed: z.boolean(),
  steps: z.record(z.string(), stepResultSchema),
  connector: z.enum([
    'NOT_REGISTERED',
    'AWAITING_CONNECTION',
    'HANDOFF_OVERDUE',
    'CONNECTED',
    'STALE',
    'OFFBOARDED',
    'RETIRED',
    'DEPARTED',
  ]),
  error: z.optional(
    z.looseObject({
      name: z.string(),
      message: z.string(),
      step: z.optional(z.string()),
      remediation: z.string(),
    }),
  ),
  skipReason: z.optional(z.string()),
  handledByRunId: z.optional(z.string()),
  handoffAt: z.optional(z.string()),
});

/** The parsed account, or the schema's complaint in one line. */
export function parseReportAccount(
  value: unknown,
): { ok: true; account: ReportAccount } | { ok: false; problem: string } {
  const parsed = reportAccountSchema.safeParse(value);
  if (parsed.success) return { ok: true, account: parsed.data as ReportAccount };
  return {
    ok: false,
    problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
  };
}
