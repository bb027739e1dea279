import type { Element } from '@xmpp/xml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startS2sConsumer, type S2sConsumer } from '../../lib/federation/service-consumer.ts';
import { FakeFifoQueue as FifoQueue } from './fake-sqs.ts';

const chat = (body: string) => `<message xmlns="jabber:client" from="a@cirrus.test/r" to="b@remote.test" type="chat"><body>${body}</body></message>`;

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

let consumer: S2sConsumer | undefined;
afterEach(async () => {
  await consumer?.stop(0);
  consumer = undefined;
});

describe('s2s-out SQS consumer', () => {
  it('deletes a message only after send resolved, and keeps each group in order', async () => {
    const sqs = new FifoQueue();
    const gate = deferred();
    const sent: string[] = [];
    consumer = startS2sConsumer({
      sqs,
      queueUrl: 'q',
      maxStanzaBytes: 65536,
      send: async (stanza: Element) => {
        const body = stanza.getChildText('body')!;
        if (body === 'a1') await gate.promise;
        sent.push(body);
        return 'sent';
      },
    });
    sqs.add('a@cirrus.test|remote.test', chat('a1'));
    sqs.add('a@cirrus.test|remote.test', chat('a2'));
    sqs.add('b@cirrus.test|remote.test', chat('b1'));
    await vi.waitFor(() => expect(sqs.deleted).toEqual([chat('b1')]));
    expect(sent).toEqual(['b1']);
    expect(sqs.remaining).toEqual([chat('a1'), chat('a2')]);
    gate.resolve();
    await vi.waitFor(() => expect(sqs.remaining).toEqual([]));
    expect(sent).toEqual(['b1', 'a1', 'a2']);
  });

  it('on stop, leaves an unsent message in the queue and hands back what had not started', async () => {
    const sqs = new FifoQueue();
    const sending: string[] = [];
    consumer = startS2sConsumer({
      sqs,
      queueUrl: 'q',
      maxStanzaBytes: 65536,
      send: (stanza: Element) => {
        sending.push(stanza.getChildText('body')!);
        return new Promise(() => undefined); // a peer that never answers within the grace
      },
    });
    sqs.add('g', chat('1'));
    sqs.add('g', chat('2'));
    await vi.waitFor(() => expect(sending).toEqual(['1']));
    await consumer.stop(0);
    expect(sqs.deleted).toEqual([]);
    expect(sqs.returned).toEqual([chat('2')]);
    expect(sqs.remaining).toEqual([chat('1'), chat('2')]);
  });

  it('deletes and logs a body that is not a stanza instead of blocking its group', async () => {
    const sqs = new FifoQueue();
    const logs: Array<Record<string, unknown>> = [];
    const sent: string[] = [];
    consumer = startS2sConsumer({
      sqs,
      queueUrl: 'q',
      maxStanzaBytes: 65536,
      log: (entry) => logs.push(entry),
      send: async (stanza: Element) => void sent.push(stanza.getChildText('body')!),
    });
    sqs.add('g', '<message><unclosed></message>');
    sqs.add('g', chat('after'));
    await vi.waitFor(() => expect(sqs.remaining).toEqual([]));
    expect(sent).toEqual(['after']);
    expect(logs).toEqual([expect.objectContaining({ level: 'error', msg: 's2s message is not a stanza, deleted' })]);
  });
});
