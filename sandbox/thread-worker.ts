import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { type Sandbox, startSandbox } from './index';
import {
  sandboxFacts,
  type ThreadReady,
  type ThreadReply,
  type ThreadRequest,
  type ThreadStart,
} from './thread';

/** The worker side of `startSandboxThread`: starts the sandbox here and answers the main thread. */
async function serve(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('sandbox/thread-worker runs only as a worker thread');
  const { options, callSeq } = workerData as ThreadStart;
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox(options);
  } catch (error) {
    port.postMessage({
      kind: 'failed',
      message: (error as Error)?.message ?? String(error),
    } satisfies ThreadReady);
    return;
  }
  sandbox.world.callLog.shareSeq(callSeq);
  const reply = (message: ThreadReply) => port.postMessage(message);
  port.on('message', (request: ThreadRequest) => {
    void answer(sandbox, request).then(
      (result) => reply({ kind: 'reply', id: request.id, result }),
      (error: unknown) =>
        reply({ kind: 'reply', id: request.id, error: (error as Error)?.message ?? String(error) }),
    );
  });
  port.postMessage({
    kind: 'ready',
    ...sandboxFacts(sandbox),
    osThreadId: osThreadId(),
  } satisfies ThreadReady);
}

async function answer(sandbox: Sandbox, request: ThreadRequest): Promise<unknown> {
  switch (request.method) {
    case 'listCalls':
      return sandbox.world.callLog.list(request.filter);
    case 'heapUsed':
      return process.memoryUsage().heapUsed;
    case 'setPerformanceModel':
      sandbox.world.faults.setModel(request.model);
      return undefined;
    case 'close':
      await sandbox.close();
      return undefined;
  }
}

/** This thread's id as Linux numbers it (`/proc/thread-self` is `<pid>/task/<tid>`). */
function osThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

void serve();
