import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, FIXTURES_DIR, fixtureText } from './event-fixtures';

// Writes test/fixtures/events/*.json from the sandbox's event builders (see event-fixtures.ts).
mkdirSync(FIXTURES_DIR, { recursive: true });
for (const [name, event] of Object.entries(FIXTURES)) {
  writeFileSync(path.join(FIXTURES_DIR, name), fixtureText(event));
}
