import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const { literalSchemaKeys, literalSchemaKeysPlugin } = require('../../scripts/package/schema-keys.cjs') as {
  literalSchemaKeys: (code: string) => string;
  literalSchemaKeysPlugin: Plugin;
};

const ROOT = path.resolve(__dirname, '../..');
/** The clients casbridge's functions bundle (commons/clients/). */
const CLIENTS = ['cloudtrail', 'dynamodb', 'iam', 'organizations', 's3', 'secrets-manager', 'sns', 'sts'];

/** Every export of the client's schema module, as a bundle evaluates it, with or without the plugin. */
async function schemaExports(client: string, plugins: Plugin[]): Promise<Record<string, unknown>> {
  const file = path.join(
    ROOT,
    'node_modules',
    '@aws-sdk',
    `client-${client}`,
    'dist-es/schemas/schemas_0.js',
  );
  const out = await build({
    stdin: { contents: `export * from ${JSON.stringify(file)};`, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    mainFields: ['module', 'main'],
    plugins,
    logLevel: 'silent',
  });
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', 'require', out.outputFiles[0]?.text ?? '')(
    module,
    module.exports,
    require,
  );
  return module.exports;
}

/**
 * Structural equality of two schema graphs: arrays, objects and literals compared as they are;
 * the thunks a schema points to its members with (`() => Shape$`) followed; error classes by name.
 */
function sameSchema(a: unknown, b: unknown, seen = new Set<unknown>()): boolean {
  if (typeof a === 'function' && typeof b === 'function') {
    if (/^class\b/.test(Function.prototype.toString.call(a)) || a.length > 0) return a.name === b.name;
    if (seen.has(a)) return true;
    seen.add(a);
    return sameSchema((a as () => unknown)(), (b as () => unknown)(), seen);
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (seen.has(a)) return true;
  seen.add(a);
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return (
    Array.isArray(a) === Array.isArray(b) &&
    keysA.join() === keysB.join() &&
    keysA.every((k) => sameSchema((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], seen))
  );
}

describe('the literal schema keys of the Lambda bundles (scripts/package/schema-keys.cjs)', () => {
  it.each(CLIENTS)('leaves every schema of client-%s as the SDK defines it', async (client) => {
    // Guards: a request serialised or a response parsed differently only once bundled, where no
    // other test reaches (the functions' tests run from source).
    const original = await schemaExports(client, []);
    const rewritten = await schemaExports(client, [literalSchemaKeysPlugin]);
    expect(Object.keys(rewritten)).toEqual(Object.keys(original));
    expect(Object.keys(original).length).toBeGreaterThan(10);
    for (const name of Object.keys(original))
      expect([name, sameSchema(original[name], rewritten[name])]).toEqual([name, true]);
  });

  it('spells every computed key of those schemas as its string, so esbuild can drop unused schemas', () => {
    for (const client of CLIENTS) {
      const file = path.join(
        ROOT,
        'node_modules',
        '@aws-sdk',
        `client-${client}`,
        'dist-es/schemas/schemas_0.js',
      );
      const code = readFileSync(file, 'utf8');
      expect([client, /\[_\w+\]:/.test(literalSchemaKeys(code))]).toEqual([client, false]);
    }
  });

  it('rewrites object keys only', () => {
    const code = 'const _h = "http";\nconst _n = 1;\nexport var A = { [_h]: 1, b: x ? y[_h] : z, [_n]: 2 };';
    expect(literalSchemaKeys(code)).toBe(
      'const _h = "http";\nconst _n = 1;\nexport var A = { "http": 1, b: x ? y[_h] : z, [_n]: 2 };',
    );
  });
});
