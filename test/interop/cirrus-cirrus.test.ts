import type { Element } from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/free-port.ts';
import { testCa } from '../../lib/federation/certificates.ts';
import { ask, xml, xmppJs, type XmppJs } from '../support/clients.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

/**
 * Two Cirrus instances, a.test and b.test, federated through static routes, each with a certificate from one test CA
 * that the other trusts, and dialback with invalid certificates turned off: they must authenticate by SASL EXTERNAL
 * (RFC 6120 §6, XEP-0178).
 */

const NS_ROSTER = 'jabber:iq:roster';

let a: TestDomain;
let b: TestDomain;
const logs: Record<'a' | 'b', Array<Record<string, unknown>>> = { a: [], b: [] };
let ann: XmppJs;
let ben: XmppJs;

beforeAll(async () => {
  const ca = await testCa();
  const ports = { a: await freePort(), b: await freePort() };
  const start = async (name: 'a' | 'b', other: 'a' | 'b') =>
    startTestDomain({
      domains: [`${name}.test`],
      s2s: {
        host: '127.0.0.1',
        port: ports[name],
        tls: await ca.issue([`${name}.test`]),
        ca: [ca.cert],
        routes: { [`${other}.test`]: { host: '127.0.0.1', port: ports[other] } },
        allowDialbackWithInvalidCert: false,
        federation: { log: (entry) => logs[name].push(entry) },
      },
    });
  [a, b] = await Promise.all([start('a', 'b'), start('b', 'a')]);
  await a.addUser('ann@a.test');
  await b.addUser('ben@b.test');
  ann = await xmppJs(a.url, 'ann', { domain: 'a.test', resource: 'r' });
  ben = await xmppJs(b.url, 'ben', { domain: 'b.test', resource: 'r' });
  for (const c of [ann, ben]) {
    await ask(c, xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
    await c.client.send(xml('presence'));
  }
}, 60_000);

afterAll(async () => {
  await ann?.client.stop().catch(() => undefined);
  await ben?.client.stop().catch(() => undefined);
  await a?.stop();
  await b?.stop();
});

const isPresence = (type: string | undefined, from: string) => (s: Element) => s.is('presence') && s.attrs.type === type && s.attrs.from === from;

describe('Cirrus ↔ Cirrus federation with SASL EXTERNAL', () => {
  it('carries a chat message both ways', async () => {
    await ann.client.send(xml('message', { to: 'ben@b.test', type: 'chat' }, xml('body', {}, 'hi ben')));
    const atBen = await ben.next((s) => s.is('message') && s.getChildText('body') === 'hi ben');
    expect(atBen.attrs).toMatchObject({ from: 'ann@a.test/r', to: 'ben@b.test', type: 'chat' });
    await ben.client.send(xml('message', { to: 'ann@a.test/r', type: 'chat' }, xml('body', {}, 'hi ann')));
    const atAnn = await ann.next((s) => s.is('message') && s.getChildText('body') === 'hi ann');
    expect(atAnn.attrs).toMatchObject({ from: 'ben@b.test/r', to: 'ann@a.test/r' });
  });

  it('subscribes both ways, and presence follows', async () => {
    await ann.client.send(xml('presence', { to: 'ben@b.test', type: 'subscribe' }));
    await ben.next(isPresence('subscribe', 'ann@a.test'));
    await ben.client.send(xml('presence', { to: 'ann@a.test', type: 'subscribed' }));
    await ann.next(isPresence('subscribed', 'ben@b.test'));
    await ann.next(isPresence(undefined, 'ben@b.test/r'));

    await ben.client.send(xml('presence', { to: 'ann@a.test', type: 'subscribe' }));
    await ann.next(isPresence('subscribe', 'ben@b.test'));
    await ann.client.send(xml('presence', { to: 'ben@b.test', type: 'subscribed' }));
    await ben.next(isPresence('subscribed', 'ann@a.test'));
    await ben.next(isPresence(undefined, 'ann@a.test/r'));

    for (const [c, contact] of [[ann, 'ben@b.test'], [ben, 'ann@a.test']] as const) {
      const roster = await ask(c, xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
      expect(roster.getChild('query', NS_ROSTER)!.getChildren('item').map((i) => i.attrs)).toEqual([
        expect.objectContaining({ jid: contact, subscription: 'both' }),
      ]);
    }

    await ben.client.send(xml('presence', {}, xml('status', {}, 'on a train')));
    await ann.next((s) => s.is('presence') && s.attrs.from === 'ben@b.test/r' && s.getChildText('status') === 'on a train');
  });

  it('authenticated each direction by SASL EXTERNAL, never by dialback', () => {
    expect(logs.a.filter((e) => e.msg === 's2s outbound stream ready')).toEqual([
      expect.objectContaining({ from: 'a.test', to: 'b.test', authentication: 'sasl-external' }),
    ]);
    expect(logs.b.filter((e) => e.msg === 's2s outbound stream ready')).toEqual([
      expect.objectContaining({ from: 'b.test', to: 'a.test', authentication: 'sasl-external' }),
    ]);
    expect([...logs.a, ...logs.b].filter((e) => String(e.msg).includes('dialback'))).toEqual([]);
  });
});
