import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system) of one thread of this process, in milliseconds, from Linux's
 * `/proc/self/task/<tid>/stat`: the calling thread when `osThreadId` is not given. Undefined where
 * there is no /proc. A benchmark on a machine shared with other work needs these figures: wall
 * time includes the wait for a core, CPU time does not. The resolution is the kernel's clock tick
 * (10 ms), enough for phases of seconds.
 */
export function threadCpuMs(osThreadId?: number): number | undefined {
  const file = osThreadId === undefined ? '/proc/thread-self/stat' : `/proc/self/task/${osThreadId}/stat`;
  try {
    // Fields 14 and 15 of stat (utime, stime), counted after the command name, which may hold spaces.
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    // USER_HZ is 100 on every Linux Node supports.
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time of the whole process (every thread, V8's GC helpers included), in milliseconds. */
export function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
