import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import xml, { type Element } from '@xmpp/xml';
import { describe, expect, it, vi } from 'vitest';
import { createInProcessS2sQueue, s2sGroupOf, sqsMessageGroupId } from '../../lib/transport/s2s-queue.ts';
import { createSqsS2sQueue } from '../../lib/transport/sqs-s2s-queue.ts';

const message = (from: string, to: string, body: string) => xml('message', { from, to, type: 'chat' }, xml('body', {}, body));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('s2s queue groups', () => {
  it('group by sender bare JID and recipient domain', () => {
    expect(s2sGroupOf(message('Alice@Cirrus.test/phone', 'bob@prosody.test/x', 'hi'))).toBe('alice@cirrus.test|prosody.test');
    expect(s2sGroupOf(xml('presence', { from: 'cirrus.test', to: 'prosody.test' }))).toBe('cirrus.test|prosody.test');
  });

  it('keep SQS group ids printable ASCII of at most 128 characters, hashing others apart', () => {
    expect(sqsMessageGroupId('alice@cirrus.test|prosody.test')).toBe('alice@cirrus.test|prosody.test');
    const unicode = sqsMessageGroupId('jürgen@cirrus.test|prosody.test');
    expect(unicode).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(sqsMessageGroupId('jörgen@cirrus.test|prosody.test')).not.toBe(unicode);
    expect(sqsMessageGroupId(`${'a'.repeat(200)}@x|y`)).toMatch(/^sha256:/);
  });
});

describe('in-process s2s queue', () => {
  it('consumes in order per group, and a stuck group does not hold back the others', async () => {
    const consumed: string[] = [];
    const gate = deferred();
    const queue = createInProcessS2sQueue(async (stanza) => {
      const body = stanza.getChildText('body')!;
      if (body === 'a1') await gate.promise; // a peer that takes its time
      consumed.push(body);
    });
    await queue.enqueue(message('a@cirrus.test/r', 'x@slow.test', 'a1'));
    await queue.enqueue(message('a@cirrus.test/r', 'x@slow.test', 'a2'));
    await queue.enqueue(message('b@cirrus.test/r', 'x@slow.test', 'b1'));
    await queue.enqueue(message('a@cirrus.test/r', 'x@fast.test', 'c1'));
    await vi.waitFor(() => expect(consumed).toEqual(['b1', 'c1']));
    gate.resolve();
    await queue.idle();
    expect(consumed).toEqual(['b1', 'c1', 'a1', 'a2']);
  });

  it('hands the consumer a copy, and survives a consumer that throws', async () => {
    const seen: Element[] = [];
    const queue = createInProcessS2sQueue(async (stanza) => {
      seen.push(stanza);
      if (seen.length === 1) throw new Error('bug');
    });
    const original = message('a@cirrus.test/r', 'x@remote.test', 'one');
    await queue.enqueue(original);
    original.attrs.to = 'changed@elsewhere.test';
    await queue.enqueue(message('a@cirrus.test/r', 'x@remote.test', 'two'));
    await queue.idle();
    expect(seen.map((s) => s.toString())).toEqual([
      `<message from="a@cirrus.test/r" to="x@remote.test" type="chat"><body>one</body></message>`,
      `<message from="a@cirrus.test/r" to="x@remote.test" type="chat"><body>two</body></message>`,
    ]);
  });
});

describe('SQS s2s queue', () => {
  it('sends the stanza XML with the sender|domain group and a fresh deduplication id each time', async () => {
    const sent: SendMessageCommand[] = [];
    const queue = createSqsS2sQueue('https://sqs.eu-west-1.amazonaws.com/1/s2s.fifo', { sqs: { send: async (c) => void sent.push(c) } });
    const stanza = message('alice@cirrus.test/phone', 'bob@prosody.test', 'hi');
    await queue.enqueue(stanza);
    await queue.enqueue(stanza);
    expect(sent.map((c) => c.input)).toEqual([
      expect.objectContaining({
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/s2s.fifo',
        MessageBody: stanza.toString(),
        MessageGroupId: 'alice@cirrus.test|prosody.test',
        MessageDeduplicationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }),
      expect.objectContaining({ MessageGroupId: 'alice@cirrus.test|prosody.test' }),
    ]);
    expect(sent[0]!.input.MessageDeduplicationId).not.toBe(sent[1]!.input.MessageDeduplicationId);
  });
});
