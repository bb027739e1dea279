import { randomUUID } from 'node:crypto';
import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import { awsCallCountingEnabled, countAwsCalls } from '../metrics/aws-calls.ts';
import type { S2sQueue } from '../server.ts';
import { s2sGroupOf, sqsMessageGroupId } from './s2s-queue.ts';

/** The part of the SQS client this queue needs (tests pass a recorder). */
export interface SqsSender {
  send(command: SendMessageCommand): Promise<unknown>;
}

/**
 * The s2s-out queue in AWS: one SQS FIFO message per stanza, drained by the federation service.
 * MessageGroupId keeps one sender's order per peer domain; the deduplication id is random because two equal
 * stanzas sent twice are two stanzas, not a retry.
 */
export function createSqsS2sQueue(queueUrl: string, options: { region?: string; sqs?: SqsSender } = {}): S2sQueue {
  // The SDK client is loaded at the first stanza for another domain: most Lambda containers never see one,
  // and every cold start would pay for the import.
  let sdk: Promise<{ sqs: SqsSender; SendMessageCommand: typeof SendMessageCommand }> | undefined;
  const load = () =>
    (sdk ??= import('@aws-sdk/client-sqs').then(({ SQSClient, SendMessageCommand }) => {
      let sqs = options.sqs;
      if (!sqs) {
        const client = new SQSClient({ region: options.region });
        // The benchmark's call counter (off unless CIRRUS_COUNT_AWS_CALLS=1).
        if (awsCallCountingEnabled()) countAwsCalls(client, 'SQS');
        sqs = client;
      }
      return { sqs, SendMessageCommand };
    }));
  return {
    async enqueue(stanza) {
      const { sqs, SendMessageCommand } = await load();
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: stanza.toString(),
          MessageGroupId: sqsMessageGroupId(s2sGroupOf(stanza)),
          MessageDeduplicationId: randomUUID(),
        }),
      );
    },
  };
}
