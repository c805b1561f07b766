import { z } from 'zod';

/**
 * A scenario seeds the sandbox: the organization's shape, each account's member role and faults,
 * SCPs, and what already exists in the accounts. It is plain JSON so people can write one.
 */
const accountId = z.string().regex(/^\d{12}$/, 'an account id is 12 digits');

export const injectedErrorSpec = z
  .object({
    service: z.string(),
    operation: z.string(),
    code: z.string(),
    message: z.string().optional(),
    status: z.number().int().optional(),
    times: z.number().int().positive().default(1),
  })
  .strict();

export const accountFaultsSpec = z
  .object({
    /** The account has no casbridge member role (typical of INVITED accounts outside the StackSet's OUs). */
    roleMissing: z.boolean().optional(),
    /** AssumeRole into the member role is refused for this long after the sandbox starts. */
    roleNotAssumableForSeconds: z.number().nonnegative().optional(),
    /** An SCP attached to the account denies these actions. */
    scpDeny: z.array(z.string()).optional(),
    /** Probability of throttling per service signing name (iam, cloudtrail, ...). */
    throttle: z.record(z.string(), z.number().min(0).max(1)).optional(),
    latencyMs: z.number().nonnegative().optional(),
    injectedErrors: z.array(injectedErrorSpec).optional(),
    preexisting: z
      .object({
        /** The connector user already exists, ours, with this many access keys (1–2). */
        accessKeys: z.number().int().min(0).max(2).optional(),
        /** The connector policy already exists with this many versions (1–5), the default drifted. */
        policyVersions: z.number().int().min(0).max(5).optional(),
        /** Other trails already in the home Region (0–5). */
        trails: z.number().int().min(0).max(5).optional(),
        /** A user with the connector's name exists but is not tagged as casbridge's. */
        foreignUser: z.boolean().optional(),
        /**
         * Onboarded before casbridge used a group (IAM.2): the connector user exists with the
         * connector policy (casbridge's document, or the drifted one `policyVersions` seeds)
         * attached directly to it, and no connector group.
         */
        legacyDirectAttachment: z.boolean().optional(),
        // Tampering with the connector user (it is created, casbridge's, when any is set):
        /** AWS managed policies attached directly to it, e.g. `arn:aws:iam::aws:policy/AdministratorAccess`. */
        extraAttachedPolicies: z
          .array(z.string().regex(/^arn:aws[a-z-]*:iam::aws:policy\//))
          .max(9)
          .optional(),
        /** Inline policies on it, each allowing `actions` on `*`. */
        inlinePolicies: z
          .array(z.object({ name: z.string().min(1), actions: z.array(z.string()).min(1) }).strict())
          .optional(),
        /** Groups that are not casbridge's (path `/`), with these AWS managed policies, the user a member. */
        otherGroups: z
          .array(
            z
              .object({
                name: z.string().min(1),
                attachedPolicies: z.array(z.string().regex(/^arn:aws[a-z-]*:iam::aws:policy\//)).default([]),
              })
              .strict(),
          )
          .max(10)
          .optional(),
        /** The connector user has a console password (a login profile). */
        loginProfile: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    seed: z.number().int().default(1),
    region: z.string().default('us-east-1'),
    organization: z
      .object({
        id: z
          .string()
          .regex(/^o-[a-z0-9]{10,32}$/)
          .optional(),
        managementAccountId: accountId.default('999988887777'),
        managementAccountName: z.string().default('management'),
        /** An organization trail in the management account (as Control Tower creates). */
        organizationTrail: z.boolean().default(false),
        /**
         * Service principals with trusted access to the organization (EnableAWSServiceAccess).
         * Unset: `cloudtrail.amazonaws.com` when `organizationTrail` is set (creating one needs
         * it), none otherwise.
         */
        trustedServices: z.array(z.string().regex(/^[a-z0-9.-]+\.amazonaws\.com$/)).optional(),
        /**
         * casbridge as a delegated administrator: its stack (and the sandbox's administrator, its
         * operator) in this member account instead of the management account. The member role
         * trusts it; the management account deploys templates/organizations-delegation.yml for
         * it unless `organizationsDelegation` is false.
         */
        casbridgeAccountId: accountId.optional(),
        organizationsDelegation: z.boolean().optional(),
      })
      .strict()
      .default({
        managementAccountId: '999988887777',
        managementAccountName: 'management',
        organizationTrail: false,
      }),
    /** OU paths below the root, e.g. `Workloads/Prod`; parents are created as needed. */
    organizationalUnits: z.array(z.string().min(1)).default([]),
    accounts: z.array(
      z
        .object({
          id: accountId,
          name: z.string().min(1),
          email: z.string().optional(),
          /** OU path, or empty for the root. */
          ou: z.string().default(''),
          state: z
            .enum(['PENDING_ACTIVATION', 'ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE', 'CLOSED'])
            .default('ACTIVE'),
          joinedMethod: z.enum(['CREATED', 'INVITED']).default('CREATED'),
          joinedTimestamp: z.string().optional(),
          tags: z.record(z.string(), z.string()).optional(),
          faults: accountFaultsSpec.optional(),
        })
        .strict(),
    ),
    /** SCPs by name, attached to OU paths, account ids or `Root`. */
    scps: z
      .array(
        z
          .object({
            name: z.string(),
            targets: z.array(z.string()),
            denyActions: z.array(z.string()),
          })
          .strict(),
      )
      .default([]),
    memberRole: z
      .object({
        template: z.string().default('templates/member-role.yml'),
        parameters: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .default({ template: 'templates/member-role.yml', parameters: {} }),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioAccount = Scenario['accounts'][number];
export type AccountFaultsSpec = z.output<typeof accountFaultsSpec>;

export function parseScenario(input: unknown): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(
      `Invalid sandbox scenario: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
