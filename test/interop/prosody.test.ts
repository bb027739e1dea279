import type { Element } from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, xml, xmppJs, type XmppJs } from '../support/clients.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';
import { testCa, type TestCa } from '../../lib/federation/certificates.ts';
import { checkInteropHost } from './loopback.ts';
import { prosodyClient, startProsody, type Prosody } from './prosody.ts';

/**
 * Federation with a real Prosody 0.12 (Debian): prosody.test on 127.0.0.2:5269, Cirrus's cirrus.test on
 * 127.0.0.3:5269, both found through /etc/hosts (no static route: Cirrus resolves SRV, then the A record).
 * First with self-signed certificates: both directions authenticate by dialback (XEP-0220). Then with certificates
 * from one test CA that both trust, Prosody with `s2s_secure_auth = true` and Cirrus refusing dialback for invalid
 * certificates: both directions authenticate by SASL EXTERNAL (XEP-0178).
 */

const NS_ROSTER = 'jabber:iq:roster';
const NS_PING = 'urn:xmpp:ping';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const STARTTLS_REQUIRED = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>";
const DIALBACK_FEATURE = "<dialback xmlns='urn:xmpp:features:dialback'/>";

interface Pair {
  prosody: Prosody;
  cirrus: TestDomain;
  cirrusLog: Array<Record<string, unknown>>;
  alice: XmppJs;
  carol: Awaited<ReturnType<typeof prosodyClient>>;
  stop(): Promise<void>;
}

/** Prosody with carol, Cirrus with alice, both logged in, with their rosters fetched, and available. */
async function startPair(ca?: TestCa): Promise<Pair> {
  await checkInteropHost({ 'prosody.test': '127.0.0.2', 'cirrus.test': '127.0.0.3' });
  const prosody = await startProsody({
    domain: 'prosody.test',
    address: '127.0.0.2',
    users: [{ user: 'carol', password: 'secret' }],
    ...(ca ? { certificate: await ca.issue(['prosody.test']), ca: ca.cert, secureAuth: true } : {}),
  });
  const cirrusLog: Array<Record<string, unknown>> = [];
  const cirrus = await startTestDomain({
    domains: ['cirrus.test'],
    s2s: {
      host: '127.0.0.3',
      port: 5269,
      federation: { retryWindowMs: 2000, log: (entry) => cirrusLog.push(entry) },
      ...(ca ? { tls: await ca.issue(['cirrus.test']), ca: [ca.cert], allowDialbackWithInvalidCert: false } : {}),
    },
  }).catch(async (error: unknown) => {
    await prosody.stop();
    throw error;
  });
  await cirrus.addUser('alice@cirrus.test');
  const alice = await xmppJs(cirrus.url, 'alice', { domain: 'cirrus.test', resource: 'web' });
  const carol = await prosodyClient(prosody, 'carol', 'secret');
  // As clients do: fetch the roster (Prosody pushes roster changes and forwards `subscribed` only to resources that
  // did, RFC 6121 §2.1.6), then become available (a bare-JID message goes only to an available resource, §8.5.2).
  await ask(alice, xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  await carol.client.iqCaller.get(xml('query', { xmlns: NS_ROSTER }));
  await alice.client.send(xml('presence'));
  await carol.client.send(xml('presence'));
  return {
    prosody,
    cirrus,
    cirrusLog,
    alice,
    carol,
    async stop() {
      await alice.client.stop().catch(() => undefined);
      await carol.client.stop().catch(() => undefined);
      await cirrus.stop();
      await prosody.stop();
    },
  };
}

/** A line of Prosody's log with all the parts (it writes attributes in no fixed order). */
const logLine = (log: string, ...parts: string[]) => log.split('\n').find((line) => parts.every((part) => line.includes(part)));

const from = (jid: string) => (s: Element) => (s.attrs.from ?? '').startsWith(jid);

describe('federation with Prosody, self-signed certificates: dialback', () => {
  let pair: Pair;
  let prosody: Prosody, cirrusLog: Pair['cirrusLog'], alice: Pair['alice'], carol: Pair['carol'];
  beforeAll(async () => {
    pair = await startPair();
    ({ prosody, cirrusLog, alice, carol } = pair);
  }, 60_000);
  afterAll(() => pair?.stop());

  it('carries a chat message from Cirrus to Prosody and back', async () => {
    await alice.client.send(xml('message', { to: 'carol@prosody.test', type: 'chat', id: 'm1' }, xml('body', {}, 'hello carol')));
    const atCarol = await carol.next((s) => s.is('message') && s.getChildText('body') === 'hello carol');
    expect(atCarol.attrs.from).toBe('alice@cirrus.test/web');
    expect(atCarol.attrs.type).toBe('chat');

    await carol.client.send(xml('message', { to: 'alice@cirrus.test', type: 'chat', id: 'm2' }, xml('body', {}, 'hello alice')));
    const atAlice = await alice.next((s) => s.is('message') && s.getChildText('body') === 'hello alice');
    expect(atAlice.attrs.from).toBe('carol@prosody.test/test');
    expect(atAlice.attrs.to).toBe('alice@cirrus.test'); // to a bare JID: delivered as addressed (RFC 6121 §8.5.2.1.1)
  });

  it('subscribes both ways (rosters end at both) and carries presence updates', async () => {
    // alice → carol: subscribe, approved.
    await alice.client.send(xml('presence', { to: 'carol@prosody.test', type: 'subscribe' }));
    const request = await carol.next((s) => s.is('presence') && s.attrs.type === 'subscribe' && from('alice@cirrus.test')(s));
    expect(request.attrs.from).toBe('alice@cirrus.test');
    await carol.client.send(xml('presence', { to: 'alice@cirrus.test', type: 'subscribed' }));
    await alice.next((s) => s.is('presence') && s.attrs.type === 'subscribed' && s.attrs.from === 'carol@prosody.test');
    // RFC 6121 §3.1.6: the contact's current presence follows the approval (through a probe).
    await alice.next((s) => s.is('presence') && s.attrs.type === undefined && s.attrs.from === 'carol@prosody.test/test');

    // carol → alice: subscribe, approved.
    await carol.client.send(xml('presence', { to: 'alice@cirrus.test', type: 'subscribe' }));
    await alice.next((s) => s.is('presence') && s.attrs.type === 'subscribe' && s.attrs.from === 'carol@prosody.test');
    await alice.client.send(xml('presence', { to: 'carol@prosody.test', type: 'subscribed' }));
    await carol.next((s) => s.is('presence') && s.attrs.type === 'subscribed' && s.attrs.from === 'alice@cirrus.test');
    await carol.next((s) => s.is('presence') && s.attrs.type === undefined && s.attrs.from === 'alice@cirrus.test/web');

    const aliceRoster = await ask(alice, xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
    expect(aliceRoster.getChild('query', NS_ROSTER)!.getChildren('item').map((i) => i.attrs)).toEqual([
      expect.objectContaining({ jid: 'carol@prosody.test', subscription: 'both' }),
    ]);
    const carolRoster = await carol.client.iqCaller.get(xml('query', { xmlns: NS_ROSTER }));
    expect(carolRoster.getChildren('item').map((i: Element) => i.attrs)).toEqual([
      expect.objectContaining({ jid: 'alice@cirrus.test', subscription: 'both' }),
    ]);

    // Presence updates go to the contact, both ways.
    await carol.client.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
    const away = await alice.next((s) => s.is('presence') && s.attrs.from === 'carol@prosody.test/test' && s.getChildText('status') === 'lunch');
    expect(away.getChildText('show')).toBe('away');
    await alice.client.send(xml('presence', {}, xml('show', {}, 'dnd'), xml('status', {}, 'busy')));
    const busy = await carol.next((s) => s.is('presence') && s.attrs.from === 'alice@cirrus.test/web' && s.getChildText('status') === 'busy');
    expect(busy.getChildText('show')).toBe('dnd');
  });

  it('answers ping and disco#info across, both ways', async () => {
    const pong = await ask(alice, xml('iq', { type: 'get', to: 'prosody.test' }, xml('ping', { xmlns: NS_PING })));
    expect(pong.attrs).toMatchObject({ type: 'result', from: 'prosody.test' });
    const prosodyInfo = await ask(alice, xml('iq', { type: 'get', to: 'prosody.test' }, xml('query', { xmlns: NS_DISCO_INFO })));
    expect(prosodyInfo.attrs.type).toBe('result');
    expect(prosodyInfo.getChild('query', NS_DISCO_INFO)!.getChild('identity')!.attrs).toMatchObject({ category: 'server', type: 'im' });

    await carol.client.iqCaller.get(xml('ping', { xmlns: NS_PING }), 'cirrus.test'); // rejects on an error reply
    const cirrusInfo = await carol.client.iqCaller.get(xml('query', { xmlns: NS_DISCO_INFO }), 'cirrus.test');
    expect(cirrusInfo.getChild('identity')!.attrs).toMatchObject({ category: 'server', type: 'im' });
    expect(cirrusInfo.getChildren('feature').map((f: Element) => f.attrs.var)).toContain(NS_PING);
  });

  it('bounces remote-server-not-found to the sender for an unreachable domain, and carries errors back', async () => {
    await alice.client.send(xml('message', { to: 'nobody@unreachable.test', type: 'chat', id: 'lost1' }, xml('body', {}, 'anyone?')));
    const bounce = await alice.next((s) => s.is('message') && s.attrs.id === 'lost1', 15_000);
    expect(bounce.attrs).toMatchObject({ type: 'error', from: 'nobody@unreachable.test' });
    expect(bounce.getChild('error')!.getChild('remote-server-not-found', NS_STANZAS)).toBeDefined();

    // An IQ from Prosody to a Cirrus account that does not exist: Cirrus's error travels back over s2s.
    const error = await carol.client.iqCaller.get(xml('ping', { xmlns: NS_PING }), 'ghost@cirrus.test').then(
      () => undefined,
      (e: { condition?: string }) => e,
    );
    expect(error?.condition).toBe('service-unavailable');

    // And the other way: Prosody's error for a message to an account it does not have (RFC 6121 §8.5.1) reaches the
    // Cirrus user. (Prosody answers a ping to any bare JID of its domain itself, so a ping would not show it.)
    await alice.client.send(xml('message', { to: 'ghost@prosody.test', type: 'chat', id: 'ghost1' }, xml('body', {}, 'boo')));
    const reply = await alice.next((s) => s.is('message') && s.attrs.id === 'ghost1');
    expect(reply.attrs).toMatchObject({ type: 'error', from: 'ghost@prosody.test' });
    expect(reply.getChild('error')!.getChild('service-unavailable', NS_STANZAS)).toBeDefined();
  });

  it('authenticated both directions by dialback after STARTTLS (self-signed certificates on both sides)', async () => {
    const log = await prosody.log();
    // Prosody as receiving server: STARTTLS required, then — Cirrus's certificate failing PKIX — dialback and no EXTERNAL.
    const features = log.split('\n').filter((line) => line.includes('Sending stream features: '));
    expect(features.find((l) => l.includes(STARTTLS_REQUIRED) && l.includes(DIALBACK_FEATURE))).toBeDefined();
    expect(log).toContain('certificate error(s) at depth 0: self-signed certificate');
    expect(features.find((l) => !l.includes('starttls') && l.includes(DIALBACK_FEATURE))).toBeDefined();
    expect(features.filter((l) => l.includes('EXTERNAL'))).toEqual([]);
    expect(log).toMatch(/Stream encrypted \(TLSv1\.[23] /);
    // Cirrus → Prosody: Cirrus's db:result checked by Prosody's db:verify back to cirrus.test (authoritative role).
    expect(logLine(log, "Received[s2sin_unauthed]: <result ", "from='cirrus.test'")).toBeDefined();
    expect(log).toContain('Incoming s2s connection cirrus.test->prosody.test complete');
    expect(cirrusLog).toContainEqual(expect.objectContaining({ msg: 's2s outbound stream ready', from: 'cirrus.test', to: 'prosody.test', authentication: 'dialback' }));
    // Prosody → Cirrus: Prosody's key, judged valid by Cirrus.
    expect(log).toContain('sent dialback key on outgoing s2s stream');
    expect(logLine(log, "Received[s2sout_unauthed]: <result ", "type='valid'", "from='cirrus.test'")).toBeDefined();
    expect(log).toContain('Outgoing s2s connection prosody.test->cirrus.test complete');
    expect(cirrusLog).toContainEqual(expect.objectContaining({ msg: 's2s dialback result', from: 'prosody.test', to: 'cirrus.test', outcome: 'valid' }));
  });
});

describe('federation with Prosody, certificates from a CA both trust: SASL EXTERNAL', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair(await testCa());
  }, 60_000);
  afterAll(() => pair?.stop());

  it('carries a chat message both ways, each direction authenticated by SASL EXTERNAL', async () => {
    const { alice, carol, prosody, cirrusLog } = pair;
    await alice.client.send(xml('message', { to: 'carol@prosody.test', type: 'chat' }, xml('body', {}, 'over EXTERNAL')));
    expect((await carol.next((s) => s.is('message') && s.getChildText('body') === 'over EXTERNAL')).attrs.from).toBe('alice@cirrus.test/web');
    await carol.client.send(xml('message', { to: 'alice@cirrus.test/web', type: 'chat' }, xml('body', {}, 'back over EXTERNAL')));
    expect((await alice.next((s) => s.is('message') && s.getChildText('body') === 'back over EXTERNAL')).attrs.from).toBe('carol@prosody.test/test');

    const log = await prosody.log();
    // Prosody as receiving server: Cirrus's certificate valid, EXTERNAL offered and accepted.
    expect(log).toContain('certificate chain validation result: valid');
    expect(log).toContain('certificate identity validation result: valid');
    expect(logLine(log, 'Sending stream features: ', '<mechanism>EXTERNAL</mechanism>')).toBeDefined();
    expect(log).toContain('Accepting SASL EXTERNAL identity from cirrus.test');
    expect(cirrusLog).toContainEqual(expect.objectContaining({ msg: 's2s outbound stream ready', to: 'prosody.test', authentication: 'sasl-external' }));
    // Prosody as initiating server: Cirrus offered EXTERNAL, Prosody used it.
    expect(log).toContain('Initiating SASL EXTERNAL with cirrus.test');
    expect(log).toContain('SASL EXTERNAL with cirrus.test succeeded');
    expect(log).not.toContain('dialback key');
    expect(cirrusLog.filter((e) => String(e.msg).includes('dialback'))).toEqual([]);
  });
});
