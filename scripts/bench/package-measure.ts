import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { medianOf, round } from './format';
import { PROJECT_ROOT } from './scenario';
import { functionHandlers } from './serverless-functions';

/**
 * `npm run package`, then each function's zip: its size, and the time a fresh Node process takes
 * to load its bundle (require of the handler module: what a cold start pays before the handler
 * runs), the median of several processes.
 */
export function measurePackage(runs: number) {
  const packaged = spawnSync('npm', ['run', 'package'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (packaged.status !== 0) {
    return {
      error: `npm run package failed: ${(packaged.stderr || packaged.stdout).trim().split('\n').pop()}`,
    };
  }
  const dir = path.join(PROJECT_ROOT, '.serverless');
  const handlers = functionHandlers();
  const functions: Record<
    string,
    { zipBytes: number; bundleBytes: number; initMs: number; initCpuMs: number; initRunsMs: number[] }
  > = {};
  for (const zip of readdirSync(dir).filter((f) => f.endsWith('.zip'))) {
    const name = zip.replace(/\.zip$/, '');
    const handler = handlers[name];
    if (!handler) continue;
    const unpacked = mkdtempSync(path.join(os.tmpdir(), `casbridge-${name}-`));
    try {
      const unzip = spawnSync('unzip', ['-q', path.join(dir, zip), '-d', unpacked]);
      if (unzip.status !== 0) throw new Error(`unzip ${zip} failed`);
      const module = path.join(unpacked, `${handler.replace(/\.[^.]+$/, '')}.js`);
      const initRuns = Array.from({ length: runs }, () => initTime(module));
      functions[name] = {
        zipBytes: statSync(path.join(dir, zip)).size,
        bundleBytes: statSync(module).size,
        initMs: round(medianOf(initRuns.map((r) => r.wallMs))),
        initCpuMs: round(medianOf(initRuns.map((r) => r.cpuMs))),
        initRunsMs: initRuns.map((r) => round(r.wallMs)),
      };
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
  }
  return { functions };
}

/**
 * Wall time of the require in a fresh process, and the CPU time it took: on a loaded machine the
 * process waits for a core, and the CPU figure is the one that does not depend on the neighbours.
 */
export function initTime(module: string): { wallMs: number; cpuMs: number } {
  const script = `const c=process.cpuUsage();const t=process.hrtime.bigint();require(${JSON.stringify(module)});const u=process.cpuUsage(c);process.stdout.write(Number(process.hrtime.bigint()-t)/1e6+' '+(u.user+u.system)/1000)`;
  const out = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
  });
  const [wallMs, cpuMs] = out.stdout.split(' ').map(Number);
  if (out.status !== 0 || !Number.isFinite(wallMs) || !Number.isFinite(cpuMs))
    throw new Error(`loading ${module} failed: ${out.stderr}`);
  return { wallMs: wallMs as number, cpuMs: cpuMs as number };
}
