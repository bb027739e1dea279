import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type ReceiveMessageCommandOutput,
} from '@aws-sdk/client-sqs';

/**
 * An in-memory SQS FIFO queue (no SQS emulator runs here) with the semantics the s2s-out queue relies on:
 * a group with a message in flight hands out nothing more (one receive may return several of a group, in order);
 * a message made visible again comes back;
 * only a delete removes it. Long polls wait for a message or an abort.
 */
export class FakeFifoQueue {
  private messages: Array<{ id: string; group: string; body: string; handle?: string; hidden: boolean }> = [];
  private seq = 0;
  readonly deleted: string[] = [];
  readonly returned: string[] = [];
  private waiting: Array<() => void> = [];

  add(group: string, body: string) {
    this.messages.push({ id: `m${++this.seq}`, group, body, hidden: false });
    this.wake();
  }

  get remaining(): string[] {
    return this.messages.map((m) => m.body);
  }

  async send(command: object, options?: { abortSignal?: AbortSignal }): Promise<never> {
    return (await this.handle(command, options)) as never;
  }

  private async handle(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
    if (command instanceof SendMessageCommand) {
      this.add(command.input.MessageGroupId!, command.input.MessageBody!);
      return { MessageId: `m${this.seq}` };
    }
    if (command instanceof ReceiveMessageCommand) {
      for (;;) {
        const batch = this.take(command.input.MaxNumberOfMessages ?? 1);
        if (batch.length > 0) return { Messages: batch, $metadata: {} } satisfies ReceiveMessageCommandOutput;
        if (options?.abortSignal?.aborted) throw new Error('aborted');
        await new Promise<void>((resolve, reject) => {
          this.waiting.push(resolve);
          options?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted')));
        });
      }
    }
    if (command instanceof DeleteMessageCommand) {
      const index = this.messages.findIndex((m) => m.handle === command.input.ReceiptHandle);
      if (index < 0) throw new Error('ReceiptHandleIsInvalid');
      this.deleted.push(this.messages[index]!.body);
      this.messages.splice(index, 1);
      this.wake();
      return {};
    }
    if (command instanceof ChangeMessageVisibilityCommand) {
      const message = this.messages.find((m) => m.handle === command.input.ReceiptHandle);
      if (message && command.input.VisibilityTimeout === 0) {
        message.hidden = false;
        this.returned.push(message.body);
        this.wake();
      }
      return {};
    }
    throw new Error(`unexpected command ${command.constructor.name}`);
  }

  private wake() {
    for (const wake of this.waiting.splice(0)) wake();
  }

  private take(max: number): Message[] {
    const busy = new Set(this.messages.filter((m) => m.hidden).map((m) => m.group));
    const batch: Message[] = [];
    for (const m of this.messages) {
      if (batch.length >= max) break;
      if (m.hidden || busy.has(m.group)) continue;
      m.hidden = true;
      m.handle = `${m.id}-${++this.seq}`;
      batch.push({ MessageId: m.id, ReceiptHandle: m.handle, Body: m.body, Attributes: { MessageGroupId: m.group } });
    }
    return batch;
  }
}
