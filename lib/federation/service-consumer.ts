import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type ReceiveMessageCommandOutput,
} from '@aws-sdk/client-sqs';
import type { Element } from '@xmpp/xml';
import { parseFrame } from '../xml/parse-frame.ts';

/** The SQS calls the consumer makes (an SQSClient; tests pass a fake queue). */
export interface SqsConsumerClient {
  send(
    command: ReceiveMessageCommand | DeleteMessageCommand | ChangeMessageVisibilityCommand,
    options?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
}

export interface S2sConsumerOptions {
  sqs: SqsConsumerClient;
  queueUrl: string;
  /** Federation.send: resolves once the stanza is written, bounced or dropped. */
  send(stanza: Element): Promise<unknown>;
  maxStanzaBytes: number;
  /** Messages being worked on at most; receiving pauses above it. */
  maxInFlight?: number;
  /** Seconds a received message stays hidden; renewed while its send is pending (a peer may take the retry window). */
  visibilityTimeoutSeconds?: number;
  /** Long-poll wait per ReceiveMessage, in seconds (SQS allows 0..20). */
  waitTimeSeconds?: number;
  log?: (entry: Record<string, unknown>) => void;
}

export interface S2sConsumer {
  /** Stops receiving; work in progress may finish within `graceMs`, the rest is handed back to the queue. */
  stop(graceMs?: number): Promise<void>;
  /** Messages received and not yet deleted or handed back. */
  inFlight(): number;
}

interface Pending {
  message: Message;
  started: boolean;
}

/**
 * Drains the s2s-out SQS FIFO queue into Federation.send. A message is deleted only after send resolved, so a
 * task that stops or dies loses nothing: the message becomes visible again and another task sends it.
 * Order: messages of one group (sender|domain) run one after the other; SQS FIFO hands out no later message of
 * a group while an earlier one is in flight, so receiving on while a slow peer retries keeps the order.
 */
export function startS2sConsumer(options: S2sConsumerOptions): S2sConsumer {
  const { sqs, queueUrl } = options;
  const maxInFlight = options.maxInFlight ?? 100;
  const visibility = options.visibilityTimeoutSeconds ?? 60;
  const log = options.log ?? ((entry) => console.log(JSON.stringify(entry)));
  const pending = new Map<string, Pending>(); // by receipt handle
  const chains = new Map<string, Promise<void>>(); // by message group
  const abort = new AbortController();
  let stopping = false;
  let wake: (() => void) | undefined;

  const heartbeat = setInterval(() => {
    // Keep what is still pending hidden; a ChangeMessageVisibility failure only risks a duplicate later.
    for (const receiptHandle of pending.keys()) {
      sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: visibility }))
        .catch((error: unknown) => log({ level: 'warn', msg: 's2s visibility renewal failed', error: String(error) }));
    }
  }, (visibility * 1000) / 3);
  heartbeat.unref();

  async function handle(entry: Pending): Promise<void> {
    if (stopping) return; // handed back in stop()
    entry.started = true;
    const { message } = entry;
    let stanza: Element | undefined;
    try {
      stanza = parseFrame(message.Body ?? '', options.maxStanzaBytes);
    } catch (error) {
      // Written by our own stanza function, so this is a bug; keeping it would only block its group forever.
      log({ level: 'error', msg: 's2s message is not a stanza, deleted', messageId: message.MessageId, body: message.Body, error: String(error) });
    }
    try {
      if (stanza) await options.send(stanza);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    } catch (error) {
      // Not deleted: SQS delivers it again after the visibility timeout (and to the dead-letter queue after 5 tries).
      // While stopping this is the expected path: Federation.send rejects for what it could not send before close().
      log({
        level: stopping ? 'info' : 'error',
        msg: stopping ? 's2s message left in the queue for another task' : 's2s message not completed',
        messageId: message.MessageId,
        error: String(error),
      });
    } finally {
      pending.delete(message.ReceiptHandle!);
      wake?.();
    }
  }

  function dispatch(message: Message) {
    const entry: Pending = { message, started: false };
    pending.set(message.ReceiptHandle!, entry);
    const group = message.Attributes?.MessageGroupId ?? '';
    const tail = (chains.get(group) ?? Promise.resolve()).then(() => handle(entry));
    chains.set(group, tail);
    void tail.then(() => {
      if (chains.get(group) === tail) chains.delete(group);
    });
  }

  const loop = (async () => {
    while (!stopping) {
      if (pending.size >= maxInFlight) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      try {
        const { Messages = [] } = (await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(10, maxInFlight - pending.size),
            WaitTimeSeconds: options.waitTimeSeconds ?? 20,
            VisibilityTimeout: visibility,
            MessageSystemAttributeNames: ['MessageGroupId'],
          }),
          { abortSignal: abort.signal },
        )) as ReceiveMessageCommandOutput;
        // In the order received: within a group, SQS FIFO returns them in order.
        for (const message of Messages) dispatch(message);
      } catch (error) {
        if (stopping) break;
        log({ level: 'error', msg: 's2s receive failed', error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })();

  return {
    inFlight: () => pending.size,
    async stop(graceMs = 10_000) {
      stopping = true;
      abort.abort();
      wake?.();
      await loop;
      // What has not started goes back to the queue now rather than after the visibility timeout.
      await Promise.all(
        [...pending.entries()]
          .filter(([, entry]) => !entry.started)
          .map(async ([receiptHandle]) => {
            pending.delete(receiptHandle);
            await sqs
              .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }))
              .catch(() => undefined);
          }),
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(chains.values()),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      clearInterval(heartbeat);
    },
  };
}
