import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { configFromEnv, type Config } from '../lib/config.ts';
import { createXmppServer } from '../lib/server.ts';

/**
 * `$default` and `$disconnect`, in order per connection through SQS FIFO (group = connection id).
 * Each record carries message attributes `connectionId` and `eventType` (MESSAGE | DISCONNECT); the body is the frame.
 */
export function createStanzaHandler(config: Config) {
  const server = createXmppServer(config);
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
            if (record.messageAttributes.eventType?.stringValue === 'DISCONNECT') await server.disconnect(connectionId);
            else await server.frame(connectionId, record.body);
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
export const handler = (event: SQSEvent) => (cached ??= createStanzaHandler(configFromEnv()))(event);
