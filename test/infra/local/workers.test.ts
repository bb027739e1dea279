import type { Element } from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setAwsCallCounting } from '../../../lib/metrics/aws-calls.ts';
import { strophe, waitFor, xml, xmppJs } from '../../support/clients.ts';
import { befriend, startTestDomain, type TestDomain } from '../../support/local.ts';
import { boundRawClient } from '../../support/raw.ts';

// Stanzas for other domains reach this queue in the main thread, forwarded by the workers.
const federated: Element[] = [];

let domain: TestDomain;
beforeAll(async () => {
  domain = await startTestDomain({ workers: 2, s2sQueue: { enqueue: async (stanza) => void federated.push(stanza) } });
  await Promise.all(['alice', 'bob', 'carol', 'dave'].map((user) => domain.addUser(`${user}@localhost`)));
  await befriend(domain, 'carol@localhost', 'dave@localhost');
});
afterAll(() => domain?.stop());

describe('the local runtime with the handlers in worker threads', () => {
  test('xmpp.js and Strophe.js log in and chat both ways', async () => {
    const alice = await xmppJs(domain.url, 'alice', { resource: 'laptop' });
    const bob = await strophe(domain.url, 'bob@localhost/phone');
    try {
      expect(alice.jid).toBe('alice@localhost/laptop');
      expect(bob.jid).toBe('bob@localhost/phone');
      await alice.client.send(xml('message', { to: 'bob@localhost/phone', type: 'chat', id: 'm1' }, xml('body', {}, 'hi bob')));
      const atBob = await waitFor(bob.received as never, (s: any) => s.nodeName === 'message' && s.getAttribute('id') === 'm1');
      expect((atBob as any).getAttribute('from')).toBe('alice@localhost/laptop');
      expect((atBob as any).getElementsByTagName('body')[0].textContent).toBe('hi bob');

      bob.connection.send(bob.$msg({ to: 'alice@localhost/laptop', type: 'chat', id: 'm2' }).c('body').t('hi alice'));
      const atAlice = await alice.next((s) => s.is('message') && s.attrs.id === 'm2');
      expect(atAlice.attrs.from).toBe('bob@localhost/phone');
      expect(atAlice.getChildText('body')).toBe('hi alice');
    } finally {
      await alice.client.stop();
      bob.connection.disconnect();
    }
  });

  test("one client's many messages arrive in the order sent, though two workers share the batches", async () => {
    const alice = await xmppJs(domain.url, 'alice', { resource: 'burst' });
    const bob = await xmppJs(domain.url, 'bob', { resource: 'burst' });
    try {
      const ids = Array.from({ length: 200 }, (_, i) => `o${i}`);
      for (const id of ids) void alice.client.send(xml('message', { to: 'bob@localhost/burst', type: 'chat', id }, xml('body', {}, id)));
      await bob.next((s) => s.is('message') && s.attrs.id === ids.at(-1), 20_000);
      const got = bob.received.filter((s) => s.is('message') && s.attrs.id?.startsWith('o')).map((s) => s.attrs.id);
      expect(got).toEqual(ids);
    } finally {
      await Promise.all([alice.client.stop(), bob.client.stop()]);
    }
  });

  test("a client's $disconnect reaches its contact as unavailable presence", async () => {
    const dave = await xmppJs(domain.url, 'dave', { resource: 'desk' });
    const carol = await boundRawClient(domain.url, 'carol', 'desk');
    try {
      await dave.client.send(xml('presence'));
      carol.send('<presence xmlns="jabber:client"/>');
      await dave.next((s) => s.is('presence') && s.attrs.from === 'carol@localhost/desk' && s.attrs.type === undefined);
      // Dropped without <close/>: only the gateway's $disconnect tells the handlers.
      carol.ws.terminate();
      const gone = await dave.next((s) => s.is('presence') && s.attrs.from === 'carol@localhost/desk' && s.attrs.type === 'unavailable');
      expect(gone.attrs.to).toBe('dave@localhost');
    } finally {
      await dave.client.stop();
    }
  });

  test('stanzas for another domain reach the main thread s2s queue in the order sent', async () => {
    const alice = await xmppJs(domain.url, 'alice', { resource: 'fed' });
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `f${i}`);
      for (const id of ids) await alice.client.send(xml('message', { to: 'zoe@remote.example', type: 'chat', id }, xml('body', {}, id)));
      await waitFor(federated, (s) => s.attrs.id === ids.at(-1));
      expect(federated.map((s) => s.attrs.id)).toEqual(ids);
      expect(federated[0]!.attrs.from).toBe('alice@localhost/fed');
      expect(federated[0]!.getChildText('body')).toBe('f0');
    } finally {
      await alice.client.stop();
    }
  });
});

describe('the AWS call counter with handler workers', () => {
  let counted: TestDomain;
  beforeAll(async () => {
    // The workers read the switch from the environment they copy at start.
    setAwsCallCounting(true);
    try {
      counted = await startTestDomain({ workers: 1 });
    } finally {
      setAwsCallCounting(false);
    }
    await counted.addUser('erin@localhost');
  });
  afterAll(() => counted?.stop());

  test('counts the calls made in the workers, and resets them', async () => {
    await counted.awsCalls.reset();
    const erin = await xmppJs(counted.url, 'erin');
    await erin.client.stop();
    // Until the $disconnect is handled too, the totals still move.
    let totals = await counted.awsCalls.totals();
    while (totals.$disconnect?.records !== 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      totals = await counted.awsCalls.totals();
    }
    expect(totals['auth:SCRAM-SHA-1']?.records).toBe(1);
    expect(totals['auth:SCRAM-SHA-1']?.calls['DynamoDB.GetItem']).toBeGreaterThan(0);
    // $connect runs outside any record; its connection item is a DynamoDB write.
    expect(totals['(outside a record)']?.calls['DynamoDB.PutItem']).toBeGreaterThan(0);
    await counted.awsCalls.reset();
    expect(await counted.awsCalls.totals()).toEqual({});
  });
});
