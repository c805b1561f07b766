/**
 * Imported first by the run benchmark, before any handler module: the tasks' logger reads its
 * level when it is created, and a thousand accounts' JSON log lines would bury the results.
 * POWERTOOLS_LOG_LEVEL=INFO brings them back.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// The SDK's Node 22 notice would land in the middle of the table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// WriteReport's metrics go to stdout as CloudWatch EMF lines, which no log level silences.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
