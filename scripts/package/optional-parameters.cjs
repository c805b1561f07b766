'use strict';

/**
 * Every optional parameter of serverless.yml set to a plausible value: test/stack packages and
 * checks the stack with these, and scripts/lint-cfn.sh lints that package, so what the linters
 * pass is what the tests check. Add a new optional parameter here.
 */
const ALL_OPTIONAL_PARAMETERS = {
  fallbackRoleName: 'OrganizationAccountAccessRole',
  existingLogBucket: 'org-trail-logs-111122223333',
  webhookUrl: 'https://hooks.example.com/casbridge',
  webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:999988887777:secret:casbridge/webhook-AbCdEf',
  excludedAccounts: '111111111111,222222222222',
  tracing: 'true',
  eventsDeadLetterQueue: 'true',
  controlTowerHomeRegion: 'eu-west-1',
  trailMode: 'organization',
  // orgTrail is left out: it is trailMode's predecessor, and set beside it, must agree with it.
  keepSecrets: 'true',
  keyDelivery: 'at-handoff',
  scopeOus: 'ou-ab12-3cd45ef6,ou-ab12-7gh89ij0',
  scopeExcludedOus: 'ou-ab12-5kl67mn8',
  outOfScopeAction: 'offboard',
};

module.exports = { ALL_OPTIONAL_PARAMETERS };

// `node optional-parameters.cjs`: one --param=name=value per line, for shell scripts.
if (require.main === module) {
  for (const [name, value] of Object.entries(ALL_OPTIONAL_PARAMETERS))
    process.stdout.write(`--param=${name}=${value}\n`);
}
