/** The esbuild plugins serverless-esbuild runs when `npm run package` bundles the functions. */
const { literalSchemaKeysPlugin } = require('./schema-keys.cjs');

module.exports = [literalSchemaKeysPlugin];
