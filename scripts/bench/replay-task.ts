import './quiet';
import type { Context } from 'aws-lambda';
import { useFunctionCredentials } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { FUNCTION_HANDLERS } from '../../statemachine/local/handlers';
import { sandboxFunctionCredentials } from '../../statemachine/local/sandbox-lambda';

/**
 * One task of a benchmark run invoked again, alone in a fresh process, with the input it had in
 * the run (./footprint.ts): what a Lambda execution environment would hold for it, without the
 * benchmark's other 10,000 accounts in the same heap. Prints one JSON line.
 */
async function main(): Promise<void> {
  const [functionKey, endpoint] = process.argv.slice(2);
  const handler = functionKey ? FUNCTION_HANDLERS[functionKey] : undefined;
  if (!handler || !endpoint)
    throw new Error('usage: replay-task.ts FUNCTION_KEY SANDBOX_ENDPOINT < input.json');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as never;
  useFunctionCredentials(sandboxFunctionCredentials(endpoint));
  const baselineRssBytes = process.memoryUsage().rss;
  // Sampled in this process: getrusage's maxRSS may carry the spawning process's over.
  let peakRssBytes = baselineRssBytes;
  const sample = () => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 10);
  const context = {
    functionName: lambdaFunctionName(SANDBOX_STAGE, functionKey as string),
    awsRequestId: 'bench-replay',
    getRemainingTimeInMillis: () => 900_000,
  } as unknown as Context;
  const started = performance.now();
  await handler(input, context);
  const durationMs = performance.now() - started;
  sample();
  clearInterval(timer);
  process.stdout.write(`${JSON.stringify({ durationMs, baselineRssBytes, peakRssBytes })}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`replay-task: ${error.name}: ${error.message}\n`);
  process.exit(1);
});
