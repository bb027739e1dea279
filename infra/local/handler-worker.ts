import { Session } from 'node:inspector/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createConnectHandler } from '../../functions/connect.ts';
import { createStanzaHandler } from '../../functions/stanza.ts';
import { awsCallTotals, resetAwsCallTotals } from '../../lib/metrics/aws-calls.ts';
import type { S2sQueue } from '../../lib/server.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './handler-workers.ts';

/**
 * One "Lambda container" of the local runtime (see handler-workers.ts): the real connect and stanza
 * handlers, invoked by the main thread with the same events API Gateway and SQS would send.
 */

const port = parentPort!;
const { config, s2s: forwardS2s } = workerData as WorkerData;
const reply = (message: WorkerReply) => port.postMessage(message);

// Stanzas for other domains go to the main thread's queue; one port keeps them in the order they were sent.
const s2s: S2sQueue | undefined = forwardS2s ? { enqueue: async (stanza) => reply({ type: 's2s', stanza: stanza.toString() }) } : undefined;
const connect = createConnectHandler(config, { s2s });
const stanza = createStanzaHandler(config, { s2s });
let profiler: Session | undefined;

port.on('message', async (request: WorkerRequest) => {
  try {
    let result: unknown;
    if (request.op === 'connect') result = await connect(request.event);
    else if (request.op === 'stanza') result = await stanza(request.event);
    else if (request.op === 'aws-call-totals') result = awsCallTotals();
    else if (request.op === 'reset-aws-call-totals') resetAwsCallTotals();
    else if (request.op === 'profile-start') {
      // This thread's own inspector: a V8 CPU profile of the handlers (the benchmark's --profile).
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    } else {
      result = (await profiler!.post('Profiler.stop')).profile;
      profiler!.disconnect();
      profiler = undefined;
    }
    reply({ id: request.id, result });
  } catch (error) {
    reply({ id: request.id, error: String(error) });
  }
});
reply({ type: 'ready' });
