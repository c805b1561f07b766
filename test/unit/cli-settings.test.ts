import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliConfig, resolveCliSettings, writeProfile } from '../../commons/cli-settings';

describe('the casbridge config file and the CLI settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'casbridge-settings-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('configuring a profile again replaces its section and keeps every other line as it was', () => {
    const file = path.join(dir, 'config');
    writeFileSync(
      file,
      '[default]\nregion = eu-west-1\n\n[profile prod]\nledger_table = old\n; kept\n\n[profile ci]\nregion = us-east-2\n',
    );
    writeProfile(file, 'prod', { region: 'eu-central-1', ledger_table: 'casbridge-ledger' });
    expect(readFileSync(file, 'utf8')).toBe(
      '[default]\nregion = eu-west-1\n\n[profile prod]\nregion = eu-central-1\nledger_table = casbridge-ledger\n\n[profile ci]\nregion = us-east-2\n',
    );
  });

  it('a setting the command did not ask for and nobody set cannot be read, and says which it is', () => {
    const file = path.join(dir, 'config');
    writeFileSync(file, '[default]\nregion = eu-west-1\nledger_table = casbridge-ledger\n');
    const config = cliConfig(resolveCliSettings({}, { CASBRIDGE_CONFIG_FILE: file }), ['ledgerTable']);
    expect(config.ledgerTable).toBe('casbridge-ledger');
    expect(config.region).toBe('eu-west-1');
    expect(() => config.externalId).toThrow(
      /^the member role's ExternalId \(CASBRIDGE_EXTERNAL_ID or external_id in the profile\) is not set/,
    );
  });

  it('a line that is neither a header nor a key of one is refused, naming the file and line', () => {
    const file = path.join(dir, 'config');
    writeFileSync(file, 'region = eu-west-1\n');
    expect(() => resolveCliSettings({}, { CASBRIDGE_CONFIG_FILE: file })).toThrow(
      `${file} line 1 is neither a [profile NAME] header nor a key = value line of one`,
    );
  });
});
