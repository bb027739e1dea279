import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { after, ask, xml, xmppJs, type XmppJs } from '../support/clients.ts';
import { boundRawClient } from '../support/raw.ts';
import { befriend, startTestDomain, type TestDomain } from '../support/local.ts';

let domain: TestDomain;
beforeAll(async () => {
  domain = await startTestDomain();
  await Promise.all(['alice', 'bob', 'carol', 'dave'].map((u) => domain.addUser(`${u}@localhost`)));
  await befriend(domain, 'alice@localhost', 'bob@localhost');
});
afterAll(() => domain?.stop());

const presenceFrom = (jid: string, type?: string) => (s: any) => s.is('presence') && s.attrs.from === jid && s.attrs.type === type;

async function available(user: string, resource: string, status?: string): Promise<XmppJs> {
  const c = await xmppJs(domain.url, user, { resource });
  await c.client.send(xml('presence', {}, ...(status ? [xml('status', {}, status)] : [])));
  await c.next(presenceFrom(c.jid));
  return c;
}

describe('presence (RFC 6121 §4)', () => {
  test('initial presence reaches subscribers, and probes bring back the contacts\' presence', async () => {
    const bob = await available('bob', 'b1', 'at work');
    const alice = await available('alice', 'a1');
    try {
      // Broadcast to bob (§4.2.2) and bob's presence to alice, answering her server's probe (§4.3.2).
      expect((await bob.next(presenceFrom('alice@localhost/a1'))).attrs.to).toBe('bob@localhost');
      const bobs = await alice.next(presenceFrom('bob@localhost/b1'));
      expect(bobs.getChildText('status')).toBe('at work');

      // An update is broadcast too (§4.4).
      const since = bob.received.length;
      await alice.client.send(xml('presence', {}, xml('show', {}, 'away')));
      expect((await after(bob, since, presenceFrom('alice@localhost/a1'))).getChildText('show')).toBe('away');
    } finally {
      await alice.client.stop();
      await bob.client.stop();
    }
  });

  test('ending the session with <close/> broadcasts unavailable', async () => {
    const bob = await available('bob', 'b2');
    const alice = await available('alice', 'a2');
    await bob.next(presenceFrom('alice@localhost/a2'));
    const since = bob.received.length;
    await alice.client.stop();
    await after(bob, since, presenceFrom('alice@localhost/a2', 'unavailable'));
    await bob.client.stop();
  });

  test('an abrupt socket drop broadcasts unavailable too ($disconnect)', async () => {
    const bob = await available('bob', 'b3');
    const alice = await boundRawClient(domain.url, 'alice', 'a3');
    alice.send('<presence xmlns="jabber:client"/>');
    await bob.next(presenceFrom('alice@localhost/a3'));
    const since = bob.received.length;
    alice.ws.terminate();
    await after(bob, since, presenceFrom('alice@localhost/a3', 'unavailable'));
    await bob.client.stop();
  });

  test('a socket dropped while its initial presence is being handled still ends with unavailable at the contacts', async () => {
    const bob = await available('bob', 'b4');
    const alice = await boundRawClient(domain.url, 'alice', 'a4');
    // Gone before the handler posts the echo: the post meets HTTP 410, and $disconnect comes after.
    alice.send('<presence xmlns="jabber:client"/>');
    alice.ws.terminate();
    const since = bob.received.indexOf(await bob.next(presenceFrom('alice@localhost/a4')));
    await after(bob, since, presenceFrom('alice@localhost/a4', 'unavailable'));
    await bob.client.stop();
  });

  test("a new resource gets the presence of the user's other resources (§4.2.2)", async () => {
    const first = await available('carol', 'c1', 'first');
    const second = await available('carol', 'c2');
    try {
      expect((await second.next(presenceFrom('carol@localhost/c1'))).getChildText('status')).toBe('first');
      await first.next(presenceFrom('carol@localhost/c2'));
    } finally {
      await first.client.stop();
      await second.client.stop();
    }
  });

  test('directed presence to a non-contact is remembered: the recipient also gets the unavailable (§4.6)', async () => {
    const dave = await available('dave', 'd1');
    const carol = await available('carol', 'c3');
    await carol.client.send(xml('presence', { to: 'dave@localhost' }, xml('status', {}, 'hi dave')));
    expect((await dave.next(presenceFrom('carol@localhost/c3'))).getChildText('status')).toBe('hi dave');
    const since = dave.received.length;
    await carol.client.stop();
    await after(dave, since, presenceFrom('carol@localhost/c3', 'unavailable'));
    await dave.client.stop();
  });

  test('a probe from someone who is not subscribed reveals nothing', async () => {
    const alice = await available('alice', 'a4');
    const dave = await available('dave', 'd2');
    try {
      const since = dave.received.length;
      await dave.client.send(xml('presence', { to: 'alice@localhost', type: 'probe' }));
      await ask(dave, xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
      // Alice's server answers `unsubscribed` (§4.3.2), which dave's server drops: dave never asked (§3.2.3).
      expect(dave.received.slice(since).filter((s) => s.is('presence') && s.attrs.from?.startsWith('alice@'))).toEqual([]);
    } finally {
      await alice.client.stop();
      await dave.client.stop();
    }
  });
});
