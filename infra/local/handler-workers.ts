import { Worker } from 'node:worker_threads';
import type { APIGatewayProxyResultV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ConnectEvent } from '../../functions/connect.ts';
import type { Config } from '../../lib/config.ts';
import { parseStored } from '../../lib/im/stored.ts';
import { addAwsCallTotals, awsCallTotals, resetAwsCallTotals, type AwsCallTotals } from '../../lib/metrics/aws-calls.ts';
import type { S2sQueue } from '../../lib/server.ts';

/**
 * The handlers in worker threads, as Lambda runs them in containers of their own: the emulator (WebSocket,
 * FIFO queue, `@connections`) keeps the main thread's event loop, the handlers get the other cores.
 * Order needs nothing here: the FIFO queue hands a connection's next batch out only once its last one
 * settled, whichever worker ran it (see gateway.ts).
 */

/**
 * `npm start`'s and the benchmark's default (startLocal's is 0). Measured on 2 cores with chat offered at
 * 1,000–1,200 msg/s: 0 workers tops out at 750–870 msg/s (its one event loop at 1.00 core), 1 at 890–970,
 * 2 at 900–1,200 (both cores busy, DynamoDB Local included), 3 falls back to 760–850 (more threads than cores).
 */
export const DEFAULT_LOCAL_WORKERS = 2;

export interface WorkerData {
  config: Config;
  /** Whether stanzas for other domains are forwarded to the main thread (else the handlers' own default). */
  s2s: boolean;
}

export type WorkerCall =
  | { op: 'connect'; event: ConnectEvent }
  | { op: 'stanza'; event: SQSEvent }
  | { op: 'aws-call-totals' }
  | { op: 'reset-aws-call-totals' }
  | { op: 'profile-start' }
  | { op: 'profile-stop' };
export type WorkerRequest = { id: number } & WorkerCall;

export type WorkerReply =
  | { type: 'ready' }
  | { type: 's2s'; stanza: string }
  | { type?: undefined; id: number; result?: unknown; error?: string };

export interface HandlerWorkers {
  connect(event: ConnectEvent): Promise<APIGatewayProxyResultV2>;
  stanza(event: SQSEvent): Promise<SQSBatchResponse>;
  /** The AWS call counter (lib/metrics/aws-calls.ts) summed over the workers. */
  awsCallTotals(): Promise<AwsCallTotals>;
  resetAwsCallTotals(): Promise<void>;
  /** V8 CPU profiles of the workers (inspector `Profiler.stop` results), one per worker. */
  profiler: { start(): Promise<void>; stop(): Promise<object[]> };
  close(): Promise<void>;
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>;
}

// Plain JavaScript: a new thread has no TypeScript loader until this file registers one.
const BOOTSTRAP = new URL('./handler-worker.mjs', import.meta.url);

export async function startHandlerWorkers(count: number, config: Config, s2s?: S2sQueue): Promise<HandlerWorkers> {
  const threads: Thread[] = [];
  let nextId = 1;
  let closing = false;

  /** Starts one worker; resolves once its handlers are loaded. A worker that dies later is replaced. */
  function spawn(): Promise<Thread> {
    const worker = new Worker(BOOTSTRAP, { workerData: { config, s2s: s2s !== undefined } satisfies WorkerData });
    const thread: Thread = { worker, pending: new Map() };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: WorkerReply) => {
        if (message.type === 'ready') {
          ready = true;
          resolve(thread);
        } else if (message.type === 's2s') {
          // Enqueued synchronously in arrival order: the queue keeps each group's order from here on.
          try {
            s2s!.enqueue(parseStored(message.stanza)).catch((error: unknown) => log('s2s enqueue failed', error));
          } catch (error) {
            log('s2s stanza from a worker not parsed', error);
          }
        } else {
          const call = thread.pending.get(message.id);
          thread.pending.delete(message.id);
          if (message.error !== undefined) call?.reject(new Error(message.error));
          else call?.resolve(message.result);
        }
      });
      worker.on('error', (error) => log('handler worker failed', error));
      worker.on('exit', (code) => {
        const gone = new Error(`handler worker exited (${code})`);
        for (const call of thread.pending.values()) call.reject(gone);
        thread.pending.clear();
        if (!ready) return reject(gone);
        const index = threads.indexOf(thread);
        if (index >= 0) threads.splice(index, 1);
        // Like Lambda after a crashed container: the next invocation gets a fresh one.
        if (closing) return;
        spawn().then(
          (fresh) => (closing ? void fresh.worker.terminate() : threads.push(fresh)),
          (error: unknown) => log('handler worker restart failed', error),
        );
      });
    });
  }

  function invoke<T>(thread: Thread, request: WorkerCall): Promise<T> {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      thread.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread.worker.postMessage({ ...request, id });
    });
  }

  /** The least busy worker, as Lambda gives an invocation to an idle container. */
  function pick(): Thread {
    if (threads.length === 0) throw new Error('no handler worker is running');
    return threads.reduce((best, thread) => (thread.pending.size < best.pending.size ? thread : best));
  }

  try {
    threads.push(...(await Promise.all(Array.from({ length: count }, spawn))));
  } catch (error) {
    closing = true;
    await Promise.all(threads.map(({ worker }) => worker.terminate()));
    throw error;
  }
  return {
    // async: with no worker running (one is being replaced), a rejection the gateway handles, not a throw.
    connect: async (event) => invoke(pick(), { op: 'connect', event }),
    stanza: async (event) => invoke(pick(), { op: 'stanza', event }),
    async awsCallTotals() {
      const all = await Promise.all(threads.map((thread) => invoke<AwsCallTotals>(thread, { op: 'aws-call-totals' })));
      return all.reduce(addAwsCallTotals, {});
    },
    async resetAwsCallTotals() {
      await Promise.all(threads.map((thread) => invoke(thread, { op: 'reset-aws-call-totals' })));
    },
    profiler: {
      start: async () => void (await Promise.all(threads.map((thread) => invoke(thread, { op: 'profile-start' })))),
      stop: () => Promise.all(threads.map((thread) => invoke<object>(thread, { op: 'profile-stop' }))),
    },
    async close() {
      closing = true;
      await Promise.all(threads.splice(0).map(({ worker }) => worker.terminate()));
    },
  };
}

/** The counter of this thread plus the workers', when there are any. */
export async function localAwsCallTotals(workers?: HandlerWorkers): Promise<AwsCallTotals> {
  return addAwsCallTotals(awsCallTotals(), workers ? await workers.awsCallTotals() : {});
}

export async function resetLocalAwsCallTotals(workers?: HandlerWorkers): Promise<void> {
  resetAwsCallTotals();
  await workers?.resetAwsCallTotals();
}

function log(msg: string, error: unknown) {
  console.error(JSON.stringify({ level: 'error', msg, error: String(error) }));
}
