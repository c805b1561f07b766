const { readFile } = require('node:fs/promises');

/**
 * The AWS SDK's generated schemas key their traits by constants (`{ [_h]: ["GET", "/", 200] }`
 * after `const _h = "http"`). esbuild cannot prove a computed key free of side effects, so it
 * keeps every schema of a service, each operation, shape and error, used or not: ~60 KB and
 * ~15 ms of cold start for S3 alone. Spelled as the string literals they are, the keys let it drop
 * the unused ones; the schemas themselves do not change (test/unit/schema-keys.test.ts).
 */
function literalSchemaKeys(code) {
  const strings = new Map([...code.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)].map((m) => [m[1], m[2]]));
  // After `{` or `,`, `[name]:` can only be an object literal's computed key.
  return code.replace(/([{,]\s*)\[(_\w+)\]:/g, (key, before, name) =>
    strings.has(name) ? `${before}${strings.get(name)}:` : key,
  );
}

const SCHEMA_MODULE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/][^\\/]+\.js$/;

/** The esbuild plugin: `literalSchemaKeys` on every AWS SDK client's schema modules. */
const literalSchemaKeysPlugin = {
  name: 'casbridge-literal-schema-keys',
  setup(build) {
    build.onLoad({ filter: SCHEMA_MODULE }, async (args) => ({
      contents: literalSchemaKeys(await readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

module.exports = { literalSchemaKeys, literalSchemaKeysPlugin, SCHEMA_MODULE };
