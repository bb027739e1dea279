import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { configFromEnv, type Config } from '../lib/config.ts';
import { countRecord } from '../lib/metrics/aws-calls.ts';
import { createXmppServer, type Ports } from '../lib/server.ts';
import { createSqsS2sQueue } from '../lib/transport/sqs-s2s-queue.ts';
import { observeStanza } from './observability.ts';

/**
 * `$default` and `$disconnect`, in order per connection through SQS FIFO (group = connection id).
 * Each record carries message attributes `connectionId` and `eventType` (MESSAGE | DISCONNECT); the body is the frame.
 */
export function createStanzaHandler(config: Config, ports: Partial<Ports> = {}) {
  // Stanzas for other domains: the given queue (local), else SQS when the federation is deployed.
  const s2s = ports.s2s ?? (config.s2sQueueUrl ? createSqsS2sQueue(config.s2sQueueUrl, { region: config.region }) : undefined);
  const server = createXmppServer(config, { ...ports, s2s });
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const byConnection = new Map<string, SQSRecord[]>();
    for (const record of event.Records) {
      const id = connectionIdOf(record);
      byConnection.set(id, [...(byConnection.get(id) ?? []), record]);
    }
    const failures: SQSBatchItemFailure[] = [];
    // Connections are independent: run them side by side, each strictly in order.
    await Promise.all(
      [...byConnection].map(async ([connectionId, records]) => {
        for (const [index, record] of records.entries()) {
          try {
            const eventType = record.messageAttributes.eventType?.stringValue;
            // countRecord labels the AWS calls with the stanza type when the benchmark counts them; else it just runs.
            await countRecord(eventType, record.body, () =>
              eventType === 'DISCONNECT' ? server.disconnect(connectionId) : server.frame(connectionId, record.body),
            );
          } catch (error) {
            console.error(JSON.stringify({ level: 'error', msg: 'record failed', connectionId, error: String(error) }));
            // FIFO order survives a retry only if this record and every later one of the connection fail together.
            for (const rest of records.slice(index)) failures.push({ itemIdentifier: rest.messageId });
            return;
          }
        }
      }),
    );
    return { batchItemFailures: failures };
  };
}

function connectionIdOf(record: SQSRecord): string {
  return record.messageAttributes.connectionId?.stringValue ?? record.attributes.MessageGroupId ?? '';
}

let cached: ReturnType<typeof createStanzaHandler> | undefined;
export const handler = observeStanza((event: SQSEvent) => (cached ??= createStanzaHandler(configFromEnv()))(event));
