import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { xml, xmppJs } from '../support/clients.ts';
import { boundRawClient } from '../support/raw.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

let domain: TestDomain;
let alice: Awaited<ReturnType<typeof xmppJs>>;
let bob: Awaited<ReturnType<typeof xmppJs>>;
beforeAll(async () => {
  domain = await startTestDomain();
  await Promise.all(['alice', 'bob', 'carol'].map((u) => domain.addUser(`${u}@localhost`)));
  alice = await xmppJs(domain.url, 'alice', { resource: 'home' });
  bob = await xmppJs(domain.url, 'bob', { resource: 'work' });
});
afterAll(async () => {
  await alice?.client.stop();
  await bob?.client.stop();
  await domain?.stop();
});

const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const errorCondition = (stanza: { getChild(n: string): any }) => stanza.getChild('error')?.children?.[0]?.name;

describe('IQ to the server (RFC 6120 §10.3)', () => {
  test('disco#info lists the identity and every implemented feature', async () => {
    const result = await alice.client.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const query = result.getChild('query')!;
    expect(query.getChild('identity')!.attrs).toMatchObject({ category: 'server', type: 'im' });
    expect(query.getChildren('feature').map((f: { attrs: Record<string, string> }) => f.attrs.var)).toEqual([
      'http://jabber.org/protocol/disco#info',
      'http://jabber.org/protocol/disco#items',
      'jabber:iq:version',
      'msgoffline',
      'urn:xmpp:ping',
    ]);
  });

  test('ping gets an empty result (XEP-0199)', async () => {
    const result = await alice.client.iqCaller.request(xml('iq', { type: 'get', to: 'localhost', id: 'ping1' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    expect(result.toString()).toBe('<iq xmlns="jabber:client" type="result" id="ping1" from="localhost" to="alice@localhost/home"/>');
  });

  test('software version names Cirrus (XEP-0092)', async () => {
    const result = await alice.client.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'jabber:iq:version' })));
    expect(result.getChild('query')!.getChildText('name')).toBe('Cirrus');
    expect(result.getChild('query')!.getChildText('version')).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('an unknown IQ to the server gets service-unavailable, payload echoed', async () => {
    await alice.client.send(xml('iq', { type: 'get', to: 'localhost', id: 'u1' }, xml('query', { xmlns: 'urn:example:nothing' })));
    const reply = await alice.next((s) => s.attrs.id === 'u1');
    expect(reply.toString()).toBe(
      '<iq xmlns="jabber:client" type="error" id="u1" from="localhost" to="alice@localhost/home"><query xmlns="urn:example:nothing"/>' +
        `<error type="cancel"><service-unavailable xmlns="${STANZAS}"/></error></iq>`,
    );
  });

  test('an unknown IQ to a bare JID gets service-unavailable', async () => {
    await alice.client.send(xml('iq', { type: 'get', to: 'bob@localhost', id: 'u2' }, xml('query', { xmlns: 'urn:example:nothing' })));
    expect(errorCondition(await alice.next((s) => s.attrs.id === 'u2'))).toBe('service-unavailable');
  });

  test('an IQ with two payloads gets bad-request', async () => {
    await alice.client.send(xml('iq', { type: 'get', to: 'localhost', id: 'u3' }, xml('ping', { xmlns: 'urn:xmpp:ping' }), xml('ping', { xmlns: 'urn:xmpp:ping' })));
    expect(errorCondition(await alice.next((s) => s.attrs.id === 'u3'))).toBe('bad-request');
  });

  test('an IQ result to the server is not answered', async () => {
    await alice.client.send(xml('iq', { type: 'result', to: 'localhost', id: 'r1' }));
    await alice.client.send(xml('iq', { type: 'get', to: 'localhost', id: 'after-r1' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    await alice.next((s) => s.attrs.id === 'after-r1');
    expect(alice.received.filter((s) => s.attrs.id === 'r1')).toEqual([]);
  });
});

describe('stanzas between users (RFC 6120 §10.5, RFC 6121 §8.5)', () => {
  test('the server overwrites a spoofed from with the sender\'s full JID', async () => {
    await alice.client.send(xml('message', { to: 'bob@localhost/work', from: 'mallory@localhost/evil', type: 'chat', id: 's1' }, xml('body', {}, 'trust me')));
    const got = await bob.next((s) => s.attrs.id === 's1');
    expect(got.attrs.from).toBe('alice@localhost/home');
  });

  test('an IQ to an online full JID is delivered and its result routed back', async () => {
    bob.client.iqCallee.get('urn:example:echo', 'echo', () => xml('echo', { xmlns: 'urn:example:echo' }, 'pong'));
    const result = await alice.client.iqCaller.request(xml('iq', { type: 'get', to: 'bob@localhost/work' }, xml('echo', { xmlns: 'urn:example:echo' })));
    expect(result.attrs.from).toBe('bob@localhost/work');
    expect(result.getChildText('echo')).toBe('pong');
  });

  test('an IQ to a full JID that is not online gets service-unavailable', async () => {
    await alice.client.send(xml('iq', { type: 'get', to: 'bob@localhost/nowhere', id: 'f1' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    expect(errorCondition(await alice.next((s) => s.attrs.id === 'f1'))).toBe('service-unavailable');
  });

  test('a message to a user that does not exist gets service-unavailable', async () => {
    await alice.client.send(xml('message', { to: 'nobody@localhost', type: 'chat', id: 'n1' }, xml('body', {}, 'hello?')));
    const reply = await alice.next((s) => s.attrs.id === 'n1');
    expect(reply.attrs).toMatchObject({ type: 'error', from: 'nobody@localhost' });
    expect(errorCondition(reply)).toBe('service-unavailable');
  });

  test('an error message is never answered with an error', async () => {
    await alice.client.send(xml('message', { to: 'nobody@localhost', type: 'error', id: 'e1' }));
    await alice.client.send(xml('iq', { type: 'get', to: 'localhost', id: 'after-e1' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    await alice.next((s) => s.attrs.id === 'after-e1');
    expect(alice.received.filter((s) => s.attrs.id === 'e1')).toEqual([]);
  });

  test('a malformed to gets jid-malformed', async () => {
    await alice.client.send(xml('message', { to: 'a@b@c/', type: 'chat', id: 'j1' }, xml('body', {}, 'x')));
    expect(errorCondition(await alice.next((s) => s.attrs.id === 'j1'))).toBe('jid-malformed');
  });

  test('a message to another domain gets remote-server-not-found (no federation yet)', async () => {
    await alice.client.send(xml('message', { to: 'someone@example.net', type: 'chat', id: 'r2' }, xml('body', {}, 'x')));
    expect(errorCondition(await alice.next((s) => s.attrs.id === 'r2'))).toBe('remote-server-not-found');
  });

  test('a bare-JID chat goes to the highest-priority available resource, never to a negative one', async () => {
    const high = await boundRawClient(domain.url, 'carol', 'high');
    const low = await boundRawClient(domain.url, 'carol', 'low');
    const hidden = await boundRawClient(domain.url, 'carol', 'hidden');
    high.send('<presence xmlns="jabber:client"><priority>10</priority></presence>');
    low.send('<presence xmlns="jabber:client"><priority>1</priority></presence>');
    hidden.send('<presence xmlns="jabber:client"><priority>-1</priority></presence>');
    await Promise.all([high, low, hidden].map((c) => c.waitFor((f) => f.startsWith('<presence'))));
    await alice.client.send(xml('message', { to: 'carol@localhost', type: 'chat', id: 'p1' }, xml('body', {}, 'to the top')));
    await alice.client.send(xml('message', { to: 'carol@localhost', type: 'headline', id: 'p2' }, xml('body', {}, 'to all')));
    await high.waitFor((f) => f.includes('id="p2"'));
    await low.waitFor((f) => f.includes('id="p2"'));
    expect(high.frames.some((f) => f.includes('id="p1"'))).toBe(true);
    expect(low.frames.some((f) => f.includes('id="p1"'))).toBe(false);
    expect(hidden.frames.some((f) => f.includes('id="p1"') || f.includes('id="p2"'))).toBe(false);
    for (const c of [high, low, hidden]) c.ws.close();
  });

  test('a message to an offline full JID is delivered to the bare JID instead (RFC 6121 §8.5.3.2.1)', async () => {
    await bob.client.send(xml('presence'));
    await bob.next((s) => s.is('presence') && s.attrs.from === 'bob@localhost/work');
    await alice.client.send(xml('message', { to: 'bob@localhost/gone', type: 'chat', id: 'o1' }, xml('body', {}, 'x')));
    expect((await bob.next((s) => s.attrs.id === 'o1')).attrs.to).toBe('bob@localhost/gone');
  });

  test('a session that disconnects stops getting stanzas and its resource is free again', async () => {
    const temp = await boundRawClient(domain.url, 'carol', 'temp');
    temp.ws.close();
    await temp.closed;
    // $disconnect runs after every frame of the connection; poll until the session is gone.
    const deadline = Date.now() + 5000;
    let errorSeen = false;
    for (let i = 0; !errorSeen && Date.now() < deadline; i++) {
      await alice.client.send(xml('iq', { type: 'get', to: 'carol@localhost/temp', id: `t${i}` }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
      errorSeen = errorCondition(await alice.next((s) => s.attrs.id === `t${i}`)) === 'service-unavailable';
    }
    expect(errorSeen).toBe(true);
  });
});
