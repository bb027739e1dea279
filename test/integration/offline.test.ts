import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { after, ask, xml, xmppJs } from '../support/clients.ts';
import { boundRawClient } from '../support/raw.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

let domain: TestDomain;
let alice: Awaited<ReturnType<typeof xmppJs>>;
beforeAll(async () => {
  domain = await startTestDomain({ config: { offlineLimit: 3 } });
  await Promise.all(['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => domain.addUser(`${u}@localhost`)));
  alice = await xmppJs(domain.url, 'alice', { resource: 'a' });
});
afterAll(async () => {
  await alice?.client.stop();
  await domain?.stop();
});

const ping = () => xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' }));
const chat = (to: string, id: string, body: string) => xml('message', { to, type: 'chat', id }, xml('body', {}, body));

describe('offline messages (XEP-0160, XEP-0203)', () => {
  test('messages to a user who is offline are stored and delivered in order, with a delay, at initial presence', async () => {
    await alice.client.send(chat('bob@localhost', 'o1', 'first'));
    await alice.client.send(chat('bob@localhost/gone', 'o2', 'second')); // an offline full JID counts as the bare JID
    await ask(alice, ping());
    expect(alice.received.filter((s) => s.attrs.type === 'error')).toEqual([]);

    const bob = await xmppJs(domain.url, 'bob', { resource: 'b' });
    try {
      expect(bob.received.filter((s) => s.is('message'))).toEqual([]); // not before presence
      await bob.client.send(xml('presence'));
      const first = await bob.next((s) => s.attrs.id === 'o1');
      const second = await bob.next((s) => s.attrs.id === 'o2');
      expect(bob.received.indexOf(first)).toBeLessThan(bob.received.indexOf(second));
      expect(first.attrs.from).toBe('alice@localhost/a');
      expect(first.getChildText('body')).toBe('first');
      const delay = first.getChild('delay', 'urn:xmpp:delay')!;
      expect(delay.attrs.from).toBe('localhost');
      expect(Date.now() - Date.parse(delay.attrs.stamp)).toBeLessThan(60_000);
      expect(delay.getText()).toBe('Offline Storage');
    } finally {
      await bob.client.stop();
    }
    // Delivered means deleted: the next session gets nothing.
    const again = await boundRawClient(domain.url, 'bob', 'b2');
    again.send('<presence xmlns="jabber:client"/>');
    again.send('<iq xmlns="jabber:client" type="get" id="last" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>');
    await again.waitFor((f) => f.includes('id="last"'));
    expect(again.frames.filter((f) => f.startsWith('<message'))).toEqual([]);
    again.ws.close();
  });

  test('a resource with negative priority does not take them: the message is stored for later', async () => {
    const hidden = await boundRawClient(domain.url, 'carol', 'hidden');
    hidden.send('<presence xmlns="jabber:client"><priority>-5</priority></presence>');
    await hidden.waitFor((f) => f.startsWith('<presence'));
    await alice.client.send(chat('carol@localhost', 'n1', 'later'));
    await ask(alice, ping());
    expect(hidden.frames.filter((f) => f.includes('id="n1"'))).toEqual([]);
    const normal = await boundRawClient(domain.url, 'carol', 'normal');
    normal.send('<presence xmlns="jabber:client"/>');
    expect(await normal.waitFor((f) => f.includes('id="n1"'))).toContain('<delay xmlns="urn:xmpp:delay" from="localhost"');
    hidden.ws.close();
    normal.ws.close();
  });

  test('beyond the per-user cap the sender gets service-unavailable: nothing is lost silently', async () => {
    for (const id of ['c1', 'c2', 'c3']) await alice.client.send(chat('dave@localhost', id, id));
    await alice.client.send(chat('dave@localhost', 'c4', 'one too many'));
    const bounce = await alice.next((s) => s.attrs.id === 'c4');
    expect(bounce.attrs.type).toBe('error');
    expect(bounce.getChild('error')!.getChildElements()[0]!.name).toBe('service-unavailable');
    expect(alice.received.filter((s) => ['c1', 'c2', 'c3'].includes(s.attrs.id) && s.attrs.type === 'error')).toEqual([]);
  });

  test('headlines and lone chat states are not stored, and not bounced', async () => {
    await alice.client.send(xml('message', { to: 'erin@localhost', type: 'headline', id: 'h1' }, xml('body', {}, 'news')));
    await alice.client.send(xml('message', { to: 'erin@localhost', type: 'chat', id: 'cs1' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    await ask(alice, ping());
    expect(alice.received.filter((s) => ['h1', 'cs1'].includes(s.attrs.id))).toEqual([]);
    const erin = await boundRawClient(domain.url, 'erin', 'e');
    erin.send('<presence xmlns="jabber:client"/>');
    erin.send('<iq xmlns="jabber:client" type="get" id="last" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>');
    await erin.waitFor((f) => f.includes('id="last"'));
    expect(erin.frames.filter((f) => f.startsWith('<message'))).toEqual([]);
    erin.ws.close();
  });
});
