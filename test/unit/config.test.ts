import {
  connectorBoundaryArn,
  connectorGroupArn,
  connectorSecretName,
  loadConfig,
  trailKeyPrefix,
} from '../../commons/config';
import { desiredStateHash } from '../../commons/desired-state';

const MINIMAL = {
  CASBRIDGE_EXTERNAL_ID: 'ext-id',
  CASBRIDGE_LOG_BUCKET: 'logs',
  CASBRIDGE_TOPIC_ARN: 'arn:aws:sns:us-east-1:999988887777:casbridge-handoff',
  CASBRIDGE_LEDGER_TABLE: 'casbridge-ledger',
};

describe('configuration', () => {
  it('fills every documented default', () => {
    const config = loadConfig(MINIMAL);
    expect(config).toMatchObject({
      memberRoleName: 'CasBridgeExecutionRole',
      userName: 'CloudAppSecurity',
      userPath: '/casbridge/',
      keyMaxAgeDays: 75,
      handoffOverdueDays: 14,
      allowPutBucketAcl: true,
      trailMode: 'reuse-existing',
      sessionSeconds: 3600,
    });
    expect(connectorSecretName(config, '111122223333')).toBe('casbridge/connector/111122223333');
    expect(trailKeyPrefix(config, '111122223333')).toBe('casbridge/111122223333');
  });

  it('manages the whole organization by default, and reports what leaves a configured scope rather than offboarding it', () => {
    expect(loadConfig(MINIMAL)).toMatchObject({
      scopeOus: [],
      scopeExcludedOus: [],
      outOfScopeAction: 'report',
    });
    const scoped = loadConfig({
      ...MINIMAL,
      CASBRIDGE_SCOPE_OUS: ' ou-ab12-3cd45ef6, r-ab12 ,ou-ab12-3cd45ef6',
      CASBRIDGE_SCOPE_EXCLUDED_OUS: 'ou-ab12-5kl67mn8',
      CASBRIDGE_OUT_OF_SCOPE_ACTION: 'offboard',
    });
    expect(scoped).toMatchObject({
      scopeOus: ['ou-ab12-3cd45ef6', 'r-ab12'],
      scopeExcludedOus: ['ou-ab12-5kl67mn8'],
      outOfScopeAction: 'offboard',
    });
    expect(() =>
      loadConfig({
        ...MINIMAL,
        CASBRIDGE_SCOPE_OUS: 'Workloads',
        CASBRIDGE_SCOPE_EXCLUDED_OUS: 'r-ab12',
        CASBRIDGE_OUT_OF_SCOPE_ACTION: 'delete',
      }),
    ).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringMatching(
          /CASBRIDGE_SCOPE_OUS.*OU id.*CASBRIDGE_SCOPE_EXCLUDED_OUS.*OU id.*CASBRIDGE_OUT_OF_SCOPE_ACTION/s,
        ),
      }),
    );
  });

  it('names every missing or malformed variable in one ConfigurationError', () => {
    expect(() => loadConfig({ CASBRIDGE_KEY_MAX_AGE_DAYS: 'soon' })).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringMatching(
          /CASBRIDGE_EXTERNAL_ID.*CASBRIDGE_LOG_BUCKET.*CASBRIDGE_TOPIC_ARN.*CASBRIDGE_LEDGER_TABLE/s,
        ),
      }),
    );
  });

  it('puts the connector policy on the connector group at the user path and repairs tampering, unless told to report it', () => {
    const config = loadConfig(MINIMAL);
    expect(config).toMatchObject({ groupName: 'CloudAppSecurity', tamperResponse: 'repair' });
    expect(connectorGroupArn(config, '111122223333')).toBe(
      'arn:aws:iam::111122223333:group/casbridge/CloudAppSecurity',
    );
    expect(connectorBoundaryArn(config, '111122223333')).toBe(
      'arn:aws:iam::111122223333:policy/casbridge/CasBridgeConnectorBoundary',
    );
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_TAMPER_RESPONSE: 'report' }).tamperResponse).toBe('report');
    expect(() =>
      loadConfig({ ...MINIMAL, CASBRIDGE_TAMPER_RESPONSE: 'ignore', CASBRIDGE_GROUP_NAME: 'a b' }),
    ).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringMatching(
          /CASBRIDGE_GROUP_NAME.*CASBRIDGE_TAMPER_RESPONSE|CASBRIDGE_TAMPER_RESPONSE.*CASBRIDGE_GROUP_NAME/,
        ),
      }),
    );
  });

  it('refuses a session longer than Lambda role chaining allows', () => {
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_SESSION_SECONDS: '7200' })).toThrow(
      /CASBRIDGE_SESSION_SECONDS/,
    );
  });

  it('refuses a key age for rotation above 90 days by name, since Security Hub IAM.3 would fail first', () => {
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_KEY_MAX_AGE_DAYS: '91' })).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringMatching(/CASBRIDGE_KEY_MAX_AGE_DAYS: must be at most 90: Security Hub IAM\.3/),
      }),
    );
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_KEY_MAX_AGE_DAYS: '90' }).keyMaxAgeDays).toBe(90);
  });

  it('refuses an overdue period of 45 days or more by name, since Security Hub IAM.22 fails at 45', () => {
    for (const days of ['45', '0', 'two weeks'])
      expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_HANDOFF_OVERDUE_DAYS: days })).toThrow(
        /CASBRIDGE_HANDOFF_OVERDUE_DAYS/,
      );
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_HANDOFF_OVERDUE_DAYS: '45' })).toThrow(/IAM\.22/);
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_HANDOFF_OVERDUE_DAYS: '7' }).handoffOverdueDays).toBe(7);
  });

  it('waits 10 s for a webhook attempt unless told otherwise, and at most 60', () => {
    expect(loadConfig(MINIMAL).webhookTimeoutSeconds).toBe(10);
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS: '1' }).webhookTimeoutSeconds).toBe(1);
    for (const seconds of ['0', '61', '2.5'])
      expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS: seconds })).toThrow(
        /CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS/,
      );
  });

  it('reads the trail mode, and the CASBRIDGE_ORG_TRAIL it replaces as the mode it meant', () => {
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_TRAIL_MODE: 'organization' }).trailMode).toBe('organization');
    // An installation deployed with orgTrail keeps what it chose.
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_ORG_TRAIL: 'create' }).trailMode).toBe('own');
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_ORG_TRAIL: 'skip' }).trailMode).toBe('reuse-existing');
    expect(
      loadConfig({ ...MINIMAL, CASBRIDGE_ORG_TRAIL: 'create', CASBRIDGE_TRAIL_MODE: 'own' }).trailMode,
    ).toBe('own');
    expect(() =>
      loadConfig({ ...MINIMAL, CASBRIDGE_ORG_TRAIL: 'create', CASBRIDGE_TRAIL_MODE: 'reuse-existing' }),
    ).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringMatching(
          /CASBRIDGE_TRAIL_MODE=reuse-existing contradicts CASBRIDGE_ORG_TRAIL=create/,
        ),
      }),
    );
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_TRAIL_MODE: 'organisation' })).toThrow(
      /CASBRIDGE_TRAIL_MODE/,
    );
  });

  it('refuses a trail name too long for the organization trail’s name in organization mode', () => {
    const name = 'a'.repeat(116);
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_TRAIL_NAME: name }).trailName).toBe(name);
    expect(() =>
      loadConfig({ ...MINIMAL, CASBRIDGE_TRAIL_NAME: name, CASBRIDGE_TRAIL_MODE: 'organization' }),
    ).toThrow(/CASBRIDGE_TRAIL_NAME: at most 115 characters/);
  });

  it('refuses a lease shorter than one pipeline step can take, by name', () => {
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_LEASE_SECONDS: '419' })).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringMatching(/CASBRIDGE_LEASE_SECONDS: must be at least 420/),
      }),
    );
    expect(loadConfig({ ...MINIMAL, CASBRIDGE_LEASE_SECONDS: '420' }).leaseSeconds).toBe(420);
    expect(loadConfig(MINIMAL).leaseSeconds).toBe(900);
  });

  it('checks a connected key for 7 days of use and deletes its secret with a 7-day window, unless told otherwise', () => {
    expect(loadConfig(MINIMAL)).toMatchObject({
      connectorStaleDays: 7,
      keepSecrets: false,
      secretRecoveryDays: 7,
    });
    expect(
      loadConfig({
        ...MINIMAL,
        CASBRIDGE_CONNECTOR_STALE_DAYS: '14',
        CASBRIDGE_KEEP_SECRETS: 'true',
        CASBRIDGE_SECRET_RECOVERY_DAYS: '30',
      }),
    ).toMatchObject({ connectorStaleDays: 14, keepSecrets: true, secretRecoveryDays: 30 });
    // IAM records a key's last use hours late; IAM.22 fails an unused key at 45 days.
    for (const days of ['1', '45']) {
      expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_CONNECTOR_STALE_DAYS: days })).toThrow(
        /CASBRIDGE_CONNECTOR_STALE_DAYS/,
      );
    }
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_CONNECTOR_STALE_DAYS: '45' })).toThrow(/IAM\.22/);
    // Secrets Manager's own bounds for RecoveryWindowInDays.
    for (const days of ['6', '31'])
      expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_SECRET_RECOVERY_DAYS: days })).toThrow(
        /CASBRIDGE_SECRET_RECOVERY_DAYS/,
      );
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_KEEP_SECRETS: 'yes' })).toThrow(/CASBRIDGE_KEEP_SECRETS/);
  });

  it('refuses a webhook without a signing secret', () => {
    expect(() => loadConfig({ ...MINIMAL, CASBRIDGE_WEBHOOK_URL: 'https://hooks.example.com/x' })).toThrow(
      /CASBRIDGE_WEBHOOK_SECRET_ARN/,
    );
  });
  it('hashes the desired state: a change to what an account should look like changes it, nothing else does', () => {
    const base = desiredStateHash(loadConfig(MINIMAL));
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(desiredStateHash(loadConfig({ ...MINIMAL, CASBRIDGE_LEASE_SECONDS: '600' }))).toBe(base);
    for (const change of [
      { CASBRIDGE_ALLOW_PUT_BUCKET_ACL: 'false' },
      { CASBRIDGE_KEY_MAX_AGE_DAYS: '30' },
      { CASBRIDGE_TRAIL_PREFIX: 'audit' },
      { CASBRIDGE_ORG_TRAIL: 'create' },
      { CASBRIDGE_TRAIL_MODE: 'organization' },
      { CASBRIDGE_USER_PATH: '/security/' },
    ])
      expect(desiredStateHash(loadConfig({ ...MINIMAL, ...change }))).not.toBe(base);
  });
});
