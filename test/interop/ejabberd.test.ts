import type { Element } from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, xml, xmppJs, type XmppJs } from '../support/clients.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';
import { startEjabberd, type Ejabberd } from './ejabberd.ts';
import { checkInteropHost } from './loopback.ts';

/**
 * Federation with a real ejabberd 23.01 (Debian): ejabberd.test on 127.0.0.4:5269, Cirrus's cirrus2.test on
 * 127.0.0.5:5269 (a domain of its own, so this file runs beside prosody.test.ts), names from /etc/hosts.
 * Self-signed certificates on both sides: ejabberd tries SASL EXTERNAL, both end up on dialback (XEP-0220).
 */

const NS_ROSTER = 'jabber:iq:roster';
const NS_PING = 'urn:xmpp:ping';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';

let ejabberd: Ejabberd;
let cirrus: TestDomain;
const cirrusLog: Array<Record<string, unknown>> = [];
let alice: XmppJs;
let dave: XmppJs;

beforeAll(async () => {
  await checkInteropHost({ 'ejabberd.test': '127.0.0.4', 'cirrus2.test': '127.0.0.5' });
  ejabberd = await startEjabberd({ domain: 'ejabberd.test', address: '127.0.0.4', users: [{ user: 'dave', password: 'secret' }] });
  cirrus = await startTestDomain({
    domains: ['cirrus2.test'],
    s2s: { host: '127.0.0.5', port: 5269, federation: { log: (entry) => cirrusLog.push(entry) } },
  });
  await cirrus.addUser('alice@cirrus2.test');
  alice = await xmppJs(cirrus.url, 'alice', { domain: 'cirrus2.test', resource: 'web' });
  // ejabberd's c2s here offers no STARTTLS (xmpp.js could not trust its self-signed certificate): SCRAM over TCP.
  dave = await xmppJs(`xmpp://${ejabberd.address}:${ejabberd.c2sPort}`, 'dave', { domain: 'ejabberd.test', resource: 'test' });
  for (const c of [alice, dave]) {
    await ask(c, xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
    await c.client.send(xml('presence'));
  }
}, 60_000);

afterAll(async () => {
  await alice?.client.stop().catch(() => undefined);
  await dave?.client.stop().catch(() => undefined);
  await cirrus?.stop();
  await ejabberd?.stop();
});

const isPresence = (type: string | undefined, from: string) => (s: Element) => s.is('presence') && s.attrs.type === type && s.attrs.from === from;

describe('federation with ejabberd', () => {
  it('carries a chat message both ways', async () => {
    await alice.client.send(xml('message', { to: 'dave@ejabberd.test', type: 'chat' }, xml('body', {}, 'hello dave')));
    expect((await dave.next((s) => s.is('message') && s.getChildText('body') === 'hello dave', 10_000)).attrs.from).toBe('alice@cirrus2.test/web');
    await dave.client.send(xml('message', { to: 'alice@cirrus2.test', type: 'chat' }, xml('body', {}, 'hello alice')));
    expect((await alice.next((s) => s.is('message') && s.getChildText('body') === 'hello alice', 10_000)).attrs.from).toBe('dave@ejabberd.test/test');
  });

  it('subscribes both ways (rosters end at both), and presence follows', async () => {
    await alice.client.send(xml('presence', { to: 'dave@ejabberd.test', type: 'subscribe' }));
    await dave.next(isPresence('subscribe', 'alice@cirrus2.test'));
    await dave.client.send(xml('presence', { to: 'alice@cirrus2.test', type: 'subscribed' }));
    await alice.next(isPresence('subscribed', 'dave@ejabberd.test'));
    await alice.next(isPresence(undefined, 'dave@ejabberd.test/test'));

    await dave.client.send(xml('presence', { to: 'alice@cirrus2.test', type: 'subscribe' }));
    await alice.next(isPresence('subscribe', 'dave@ejabberd.test'));
    await alice.client.send(xml('presence', { to: 'dave@ejabberd.test', type: 'subscribed' }));
    await dave.next(isPresence('subscribed', 'alice@cirrus2.test'));
    await dave.next(isPresence(undefined, 'alice@cirrus2.test/web'));

    for (const [c, contact] of [[alice, 'dave@ejabberd.test'], [dave, 'alice@cirrus2.test']] as const) {
      const roster = await ask(c, xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
      expect(roster.getChild('query', NS_ROSTER)!.getChildren('item').map((i) => i.attrs)).toEqual([
        expect.objectContaining({ jid: contact, subscription: 'both' }),
      ]);
    }
    await dave.client.send(xml('presence', {}, xml('show', {}, 'xa'), xml('status', {}, 'gone fishing')));
    const update = await alice.next((s) => s.is('presence') && s.attrs.from === 'dave@ejabberd.test/test' && s.getChildText('status') === 'gone fishing');
    expect(update.getChildText('show')).toBe('xa');
  });

  it('answers ping and disco#info across, both ways', async () => {
    expect((await ask(alice, xml('iq', { type: 'get', to: 'ejabberd.test' }, xml('ping', { xmlns: NS_PING })))).attrs.type).toBe('result');
    const info = await ask(alice, xml('iq', { type: 'get', to: 'ejabberd.test' }, xml('query', { xmlns: NS_DISCO_INFO })));
    expect(info.getChild('query', NS_DISCO_INFO)!.getChild('identity')!.attrs).toMatchObject({ category: 'server', type: 'im' });
    expect((await ask(dave, xml('iq', { type: 'get', to: 'cirrus2.test' }, xml('ping', { xmlns: NS_PING })))).attrs.type).toBe('result');
    const ours = await ask(dave, xml('iq', { type: 'get', to: 'cirrus2.test' }, xml('query', { xmlns: NS_DISCO_INFO })));
    expect(ours.getChild('query', NS_DISCO_INFO)!.getChild('identity')!.attrs).toMatchObject({ category: 'server', type: 'im' });
  });

  it('negotiated STARTTLS, then dialback both ways after ejabberd refused SASL EXTERNAL for the self-signed certificate', async () => {
    const log = await ejabberd.log();
    // ejabberd as receiving server: offers EXTERNAL before looking at the certificate, then refuses it.
    expect(log).toContain(
      "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism></mechanisms><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>",
    );
    expect(log).toContain('Failed inbound s2s EXTERNAL authentication cirrus2.test -> ejabberd.test');
    expect(cirrusLog).toContainEqual(expect.objectContaining({ msg: 's2s SASL EXTERNAL refused by peer; trying dialback', to: 'ejabberd.test' }));
    expect(log).toContain('Accepted inbound s2s dialback authentication cirrus2.test -> ejabberd.test');
    expect(cirrusLog).toContainEqual(expect.objectContaining({ msg: 's2s outbound stream ready', to: 'ejabberd.test', authentication: 'dialback' }));
    // ejabberd as initiating server: Cirrus offers only dialback for its invalid certificate.
    expect(log).toContain('<stream:features><dialback xmlns=\\"urn:xmpp:features:dialback\\"><errors/></dialback></stream:features>');
    expect(log).toContain('Accepted outbound s2s dialback authentication ejabberd.test -> cirrus2.test');
    expect(cirrusLog).toContainEqual(expect.objectContaining({ msg: 's2s dialback result', from: 'ejabberd.test', to: 'cirrus2.test', outcome: 'valid' }));
  });
});
