#!/usr/bin/env node
'use strict';

// The AWS SDK v3 prints a Node 22 deprecation notice on Node 20 the first time a client is built;
// it is noise for a CLI user, and it must be off before any SDK module runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Local runs execute the Lambda handlers in this process; their JSON log lines are for CloudWatch
// and would bury the CLI's own output. POWERTOOLS_LOG_LEVEL=INFO brings them back.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// Likewise their CloudWatch metrics (EMF lines on stdout, read by CloudWatch, not by people):
// POWERTOOLS_METRICS_DISABLED=false brings them back.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

// The CLI ships as TypeScript: tsx's CommonJS hook compiles it on load (and caches the result).
require('tsx/cjs');
require('../scripts/cli.ts')
  .main(process.argv)
  // Exit explicitly: a command that failed halfway may leave a listening server behind.
  .then((code) => process.exit(code));
