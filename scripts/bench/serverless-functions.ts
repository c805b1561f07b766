import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from './scenario';

/** memorySize (MB) per function from serverless.yml (the provider's default where a function sets none). */
export function functionMemorySizes(): Record<string, number> {
  return functionSetting('memorySize', 1024);
}

/** timeout (seconds) per function from serverless.yml (the provider's default where a function sets none). */
export function functionTimeouts(): Record<string, number> {
  return functionSetting('timeout', 6);
}

/** One numeric setting per function; `fallback` is the framework's own default. */
function functionSetting(name: 'memorySize' | 'timeout', fallback: number): Record<string, number> {
  const file = path.join(PROJECT_ROOT, 'serverless.yml');
  if (!existsSync(file)) return {};
  const doc = parseYaml(readFileSync(file, 'utf8'), { logLevel: 'silent', customTags: cfnTags() }) as {
    provider?: Partial<Record<typeof name, number>>;
    functions?: Record<string, Partial<Record<typeof name, number>>>;
  };
  const provider = doc.provider?.[name] ?? fallback;
  return Object.fromEntries(Object.entries(doc.functions ?? {}).map(([fn, f]) => [fn, f[name] ?? provider]));
}

/** CloudFormation short-form tags, read as plain values: only memory sizes are wanted here. */
export function cfnTags() {
  return [
    '!Sub',
    '!GetAtt',
    '!Ref',
    '!If',
    '!Equals',
    '!Not',
    '!Join',
    '!Select',
    '!Split',
    '!And',
    '!Or',
  ].flatMap((tag) =>
    (['scalar', 'seq', 'map'] as const).map((collection) => ({
      tag,
      collection,
      resolve: (value: unknown) => value,
    })),
  ) as never;
}

export function functionHandlers(): Record<string, string> {
  const doc = parseYaml(readFileSync(path.join(PROJECT_ROOT, 'serverless.yml'), 'utf8'), {
    logLevel: 'silent',
    customTags: cfnTags(),
  }) as { functions?: Record<string, { handler?: string }> };
  return Object.fromEntries(
    Object.entries(doc.functions ?? {}).flatMap(([name, f]) => (f.handler ? [[name, f.handler]] : [])),
  );
}
