import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { after, ask, strophe, waitFor, xml, xmppJs, type XmppJs } from '../support/clients.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

const ROSTER = 'jabber:iq:roster';

let domain: TestDomain;
beforeAll(async () => {
  domain = await startTestDomain();
  await Promise.all(['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((u) => domain.addUser(`${u}@localhost`)));
});
afterAll(() => domain?.stop());

/** Logs in, asks for the roster and sends initial presence: a client as users have them. */
async function online(user: string, resource = 'main'): Promise<XmppJs> {
  const c = await xmppJs(domain.url, user, { resource });
  await ask(c, xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
  await c.client.send(xml('presence'));
  await c.next((s) => s.is('presence') && s.attrs.from === c.jid);
  return c;
}
const pushOf = (c: XmppJs, since: number, jid: string, match: (item: any) => boolean) =>
  after(c, since, (s) => {
    const item = s.getChild('query', ROSTER)?.getChild('item');
    return s.attrs.type === 'set' && item?.attrs.jid === jid && match(item);
  });
const itemOf = async (c: XmppJs, jid: string) =>
  (await ask(c, xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })))).getChild('query')!.getChildren('item').find((i: any) => i.attrs.jid === jid);

describe('presence subscriptions (RFC 6121 §3)', () => {
  test('subscribe, approve, subscribe back: both ends go none → to/from → both, with pushes and presence', async () => {
    const alice = await online('alice');
    const bob = await online('bob');
    try {
      let [a, b] = [alice.received.length, bob.received.length];
      // A client's `from` on a subscription is ignored: it goes from the bare JID (§3.1.2).
      await alice.client.send(xml('presence', { to: 'bob@localhost/main', type: 'subscribe', id: 'sub1' }));
      expect((await pushOf(alice, a, 'bob@localhost', (i) => i.attrs.ask === 'subscribe')).getChild('query')!.getChild('item')!.attrs.subscription).toBe('none');
      const request = await after(bob, b, (s) => s.is('presence') && s.attrs.type === 'subscribe');
      expect(request.attrs).toMatchObject({ from: 'alice@localhost', to: 'bob@localhost', id: 'sub1' });

      [a, b] = [alice.received.length, bob.received.length];
      await bob.client.send(xml('presence', { to: 'alice@localhost', type: 'subscribed' }));
      await pushOf(bob, b, 'alice@localhost', (i) => i.attrs.subscription === 'from');
      await pushOf(alice, a, 'bob@localhost', (i) => i.attrs.subscription === 'to' && i.attrs.ask === undefined);
      expect((await after(alice, a, (s) => s.is('presence') && s.attrs.type === 'subscribed')).attrs.from).toBe('bob@localhost');
      // §3.1.5: with the approval, bob's server sends bob's current presence.
      await after(alice, a, (s) => s.is('presence') && s.attrs.from === 'bob@localhost/main' && s.attrs.type === undefined);

      [a, b] = [alice.received.length, bob.received.length];
      await bob.client.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }));
      await after(alice, a, (s) => s.is('presence') && s.attrs.type === 'subscribe' && s.attrs.from === 'bob@localhost');
      await alice.client.send(xml('presence', { to: 'bob@localhost', type: 'subscribed' }));
      await pushOf(alice, a, 'bob@localhost', (i) => i.attrs.subscription === 'both');
      await pushOf(bob, b, 'alice@localhost', (i) => i.attrs.subscription === 'both');
      expect((await itemOf(alice, 'bob@localhost'))!.toString()).toBe('<item jid="bob@localhost" subscription="both"/>');
      expect((await itemOf(bob, 'alice@localhost'))!.toString()).toBe('<item jid="alice@localhost" subscription="both"/>');

      // Asking again when already subscribed changes nothing: bob's server answers `subscribed` itself (§3.1.3), which
      // alice's server ignores as an answer to no pending request (§3.1.6); no push, no request shown to bob.
      [a, b] = [alice.received.length, bob.received.length];
      await alice.client.send(xml('presence', { to: 'bob@localhost', type: 'subscribe' }));
      expect((await itemOf(alice, 'bob@localhost'))!.toString()).toBe('<item jid="bob@localhost" subscription="both"/>');
      await ask(bob, xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
      expect(alice.received.slice(a).filter((s) => s.getChild('query', ROSTER) && s.attrs.type === 'set')).toEqual([]);
      expect(bob.received.slice(b).filter((s) => s.is('presence') && s.attrs.type === 'subscribe')).toEqual([]);
    } finally {
      await alice.client.stop();
      await bob.client.stop();
    }
  });

  test('a request to a user who is offline is kept and delivered at their next initial presence', async () => {
    const carol = await online('carol');
    try {
      await carol.client.send(xml('presence', { to: 'dave@localhost', type: 'subscribe' }));
      await pushOf(carol, 0, 'dave@localhost', (i) => i.attrs.ask === 'subscribe');
      // Dave logs in later, with Strophe.js.
      const dave = await strophe(domain.url, 'dave@localhost/laptop');
      try {
        dave.connection.send(dave.$pres());
        const request = await waitFor(dave.received as never, (s: any) => s.nodeName === 'presence' && s.getAttribute('type') === 'subscribe');
        expect((request as any).getAttribute('from')).toBe('carol@localhost');
        // Pending in is not a roster item the client sees (§3.1.3).
        const roster = await new Promise<any>((resolve) => dave.connection.sendIQ(dave.$iq({ type: 'get' }).c('query', { xmlns: ROSTER }), resolve));
        expect(roster.getElementsByTagName('item').length).toBe(0);
      } finally {
        dave.connection.disconnect();
      }
    } finally {
      await carol.client.stop();
    }
  });

  test('pre-approval (§3.4): a pre-approved request is accepted without asking the user', async () => {
    const erin = await online('erin');
    const frank = await online('frank');
    try {
      let [e, f] = [erin.received.length, frank.received.length];
      await ask(erin, xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'frank@localhost' }))));
      await erin.client.send(xml('presence', { to: 'frank@localhost', type: 'subscribed' }));
      await pushOf(erin, e, 'frank@localhost', (i) => i.attrs.approved === 'true');
      e = erin.received.length;
      await frank.client.send(xml('presence', { to: 'erin@localhost', type: 'subscribe' }));
      await after(frank, f, (s) => s.is('presence') && s.attrs.type === 'subscribed' && s.attrs.from === 'erin@localhost');
      await pushOf(erin, e, 'frank@localhost', (i) => i.attrs.subscription === 'from' && i.attrs.approved === undefined);
      expect(erin.received.slice(e).filter((s) => s.is('presence') && s.attrs.type === 'subscribe')).toEqual([]);
    } finally {
      await erin.client.stop();
      await frank.client.stop();
    }
  });

  test('unsubscribe and unsubscribed take both ends back down, and removing a contact cancels both ways', async () => {
    const alice = await online('alice', 'two');
    const bob = await online('bob', 'two');
    try {
      expect((await itemOf(alice, 'bob@localhost'))!.attrs.subscription).toBe('both');
      let [a, b] = [alice.received.length, bob.received.length];
      await alice.client.send(xml('presence', { to: 'bob@localhost', type: 'unsubscribe' }));
      await pushOf(alice, a, 'bob@localhost', (i) => i.attrs.subscription === 'from');
      await pushOf(bob, b, 'alice@localhost', (i) => i.attrs.subscription === 'to');
      // §3.3.3: bob's server tells alice bob is unavailable to her now.
      await after(alice, a, (s) => s.is('presence') && s.attrs.type === 'unavailable' && s.attrs.from === 'bob@localhost/two');

      [a, b] = [alice.received.length, bob.received.length];
      await alice.client.send(xml('presence', { to: 'bob@localhost', type: 'unsubscribed' }));
      await pushOf(alice, a, 'bob@localhost', (i) => i.attrs.subscription === 'none');
      await pushOf(bob, b, 'alice@localhost', (i) => i.attrs.subscription === 'none');
      expect((await after(bob, b, (s) => s.is('presence') && s.attrs.type === 'unsubscribed')).attrs.from).toBe('alice@localhost');

      // Back to both, then remove: the contact's side goes to none as well (§2.5.2).
      await alice.client.send(xml('presence', { to: 'bob@localhost', type: 'subscribe' }));
      await after(bob, b, (s) => s.is('presence') && s.attrs.type === 'subscribe');
      await bob.client.send(xml('presence', { to: 'alice@localhost', type: 'subscribed' }));
      await bob.client.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }));
      await after(alice, a, (s) => s.is('presence') && s.attrs.type === 'subscribe' && s.attrs.from === 'bob@localhost');
      await alice.client.send(xml('presence', { to: 'bob@localhost', type: 'subscribed' }));
      await pushOf(bob, b, 'alice@localhost', (i) => i.attrs.subscription === 'both');
      b = bob.received.length;
      await ask(alice, xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'bob@localhost', subscription: 'remove' }))));
      await pushOf(bob, b, 'alice@localhost', (i) => i.attrs.subscription === 'none');
      expect(await itemOf(alice, 'bob@localhost')).toBeUndefined();
    } finally {
      await alice.client.stop();
      await bob.client.stop();
    }
  });

  test('a subscription request to a user that does not exist is answered unsubscribed', async () => {
    const carol = await online('carol', 'two');
    try {
      const since = carol.received.length;
      await carol.client.send(xml('presence', { to: 'ghost@localhost', type: 'subscribe' }));
      expect((await after(carol, since, (s) => s.is('presence') && s.attrs.type === 'unsubscribed')).attrs.from).toBe('ghost@localhost');
      await pushOf(carol, since, 'ghost@localhost', (i) => i.attrs.subscription === 'none' && i.attrs.ask === undefined);
    } finally {
      await carol.client.stop();
    }
  });
});
