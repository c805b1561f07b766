import type { SandboxThread } from '../../sandbox/thread';
import { ignore } from './format';

/**
 * The process's peak RSS, and the peak V8 heap in use: this thread's and the sandbox thread's (each
 * isolate has its own heap), sampled together every 250 ms.
 */
export function sampleMemory(sandbox: SandboxThread) {
  let rss = 0;
  let heap = { total: 0, main: 0, sandbox: 0 };
  let sandboxHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    if (m.heapUsed + sandboxHeap > heap.total)
      heap = { total: m.heapUsed + sandboxHeap, main: m.heapUsed, sandbox: sandboxHeap };
    void sandbox.heapUsed().then((used) => {
      sandboxHeap = used ?? 0;
    }, ignore);
  };
  const timer = setInterval(sample, 250);
  timer.unref();
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  return {
    stop: () => {
      sample();
      clearInterval(timer);
      const maxRss = process.resourceUsage().maxRSS * 1024;
      return {
        rssMiB: mib(Math.max(rss, maxRss)),
        heapUsedMiB: mib(heap.total),
        mainThreadHeapMiB: mib(heap.main),
        sandboxThreadHeapMiB: sandbox.osThreadId === undefined ? undefined : mib(heap.sandbox),
      };
    },
  };
}
