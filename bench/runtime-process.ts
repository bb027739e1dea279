import { Session } from 'node:inspector/promises';
import { breakdown, mergeBreakdowns, type CpuProfile } from './profile.ts';
import { startLocalTarget, type Target } from './target.ts';

/**
 * Cirrus's local runtime in a process of its own, driven by the benchmark over IPC, so that the load
 * generator does not share the runtime's event loop (on 2 cores: this process, the generator, DynamoDB Local).
 * Requests: accounts (create n), reset / totals (the AWS call counter, handler workers included), profile-start /
 * profile-stop (a V8 CPU profile of this process through the inspector, its handler worker threads included, answered
 * summarised by part), stop.
 * BENCH_WORKERS=N runs the handlers in N worker threads (startLocal's `workers`).
 */

export type RuntimeCall =
  | { op: 'accounts'; n: number }
  | { op: 'reset' }
  | { op: 'totals' }
  | { op: 'profile-start' }
  | { op: 'profile-stop' }
  | { op: 'stop' };
export type RuntimeRequest = { id: number } & RuntimeCall;
export type RuntimeMessage =
  | { type: 'ready'; url: string; domain: string; dynamodbEndpoint: string; dynamodbPid?: number; tableName: string }
  | { type: 'failed'; error: string }
  | { type?: undefined; id: number; result?: unknown; error?: string };

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

if (!process.send) throw new Error('bench/runtime-process.ts runs as a child of the benchmark (it needs an IPC channel)');
const send = (message: RuntimeMessage) => process.send!(message);

let target: Target | undefined;
let profiler: Session | undefined;
let stopping: Promise<void> | undefined;
const stop = (code = 0) =>
  (stopping ??= (async () => {
    try {
      await target?.stop();
    } finally {
      process.exit(code);
    }
  })());

// Whatever ends the benchmark ends this too: its IPC channel closing, or a signal.
process.on('disconnect', () => void stop());
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());

process.on('message', async (request: RuntimeRequest) => {
  try {
    let result: unknown;
    if (request.op === 'accounts') result = await target!.accounts(request.n);
    else if (request.op === 'reset') await target!.counter!.reset();
    else if (request.op === 'totals') result = await target!.counter!.totals();
    else if (request.op === 'profile-start') {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      await target!.workerProfiler?.start();
    } else if (request.op === 'profile-stop') {
      const { profile } = await profiler!.post('Profiler.stop');
      profiler!.disconnect();
      profiler = undefined;
      // With handler workers: their threads' profiles too, summed with this one's.
      const workers = ((await target!.workerProfiler?.stop()) ?? []) as CpuProfile[];
      result = mergeBreakdowns([breakdown(profile), ...workers.map(breakdown)]);
    }
    else if (request.op === 'stop') {
      await target?.stop();
      target = undefined;
    }
    send({ id: request.id, result });
    if (request.op === 'stop') process.disconnect();
  } catch (error) {
    send({ id: request.id, error: String(error) });
  }
});

try {
  target = await startLocalTarget({ domain: process.env.BENCH_DOMAIN || undefined, workers: Number(process.env.BENCH_WORKERS || 0) });
  const local = target.local!;
  send({
    type: 'ready',
    url: target.url,
    domain: target.domain,
    dynamodbEndpoint: local.dynamodbEndpoint,
    dynamodbPid: local.pids.dynamodb,
    tableName: local.tableName,
  });
} catch (error) {
  send({ type: 'failed', error: String(error) });
  await stop(1);
}
