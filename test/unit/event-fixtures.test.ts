import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, FIXTURES_DIR, fixtureText } from '../support/event-fixtures';

describe('the lifecycle event fixtures', () => {
  it('are exactly the events the sandbox builds, one file for each', () => {
    // Guards: a fixture edited by hand (or a builder changed) so that the parser's tests and the
    // sandbox's events no longer share one shape. Write them again with
    // `node --require tsx/cjs test/support/write-event-fixtures.ts`.
    const files = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(FIXTURES).sort());
    for (const [name, event] of Object.entries(FIXTURES)) {
      expect({ name, text: readFileSync(path.join(FIXTURES_DIR, name), 'utf8') }).toEqual({
        name,
        text: fixtureText(event),
      });
    }
  });
});
