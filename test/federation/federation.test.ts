import type { Element } from '@xmpp/xml';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate, testCa } from '../../lib/federation/certificates.ts';
import type { FederationOptions } from '../../lib/federation/federation.ts';
import { freePort, message, startPeer, waitFor, type Peer } from './helpers.ts';

const peers: Peer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.federation.close()));
});

type Extra = Partial<FederationOptions>;

/** a.test and b.test on loopback with static routes to each other. */
async function pair(
  kind: 'self-signed' | 'ca',
  extraA: Extra = {},
  extraB: Extra = {},
  refuseAtB?: (stanza: Element) => boolean,
): Promise<[Peer, Peer]> {
  let certA, certB, ca: string[] | undefined;
  if (kind === 'ca') {
    const authority = await testCa();
    [certA, certB] = await Promise.all([authority.issue(['a.test']), authority.issue(['b.test'])]);
    ca = [authority.cert];
  } else {
    [certA, certB] = await Promise.all([selfSignedCertificate(['a.test']), selfSignedCertificate(['b.test'])]);
  }
  const [portA, portB] = [await freePort(), await freePort()];
  const routes = { 'a.test': { host: '127.0.0.1', port: portA }, 'b.test': { host: '127.0.0.1', port: portB } };
  const a = await startPeer('a.test', { tls: { ...certA, ca }, routes, ...extraA }, portA);
  const b = await startPeer('b.test', { tls: { ...certB, ca }, routes, ...extraB }, portB, refuseAtB);
  peers.push(a, b);
  return [a, b];
}

const authenticated = (peer: Peer, to: string) =>
  peer.logs.find((l) => l.msg === 's2s outbound stream ready' && l.to === to)?.authentication;

describe('federation between two instances', () => {
  it('delivers messages both ways over dialback when the certificates are self-signed', async () => {
    const [a, b] = await pair('self-signed');
    expect(await a.federation.send(message('alice@a.test/phone', 'bob@b.test', 'hello bob'))).toBe('sent');
    const atB = await waitFor(() => b.delivered[0], 'the message at b');
    expect(atB.toString()).toBe(
      '<message xmlns="jabber:client" from="alice@a.test/phone" to="bob@b.test" type="chat" id="m1"><body>hello bob</body></message>',
    );
    expect(await b.federation.send(message('bob@b.test', 'alice@a.test/phone', 'hi alice', 'm2'))).toBe('sent');
    const atA = await waitFor(() => a.delivered[0], 'the reply at a');
    expect(atA.getChildText('body')).toBe('hi alice');
    expect(authenticated(a, 'b.test')).toBe('dialback');
    expect(authenticated(b, 'a.test')).toBe('dialback');
  });

  it('authenticates with SASL EXTERNAL when both certificates come from a trusted CA', async () => {
    const [a, b] = await pair('ca', { allowDialbackWithInvalidCert: false }, { allowDialbackWithInvalidCert: false });
    expect(await a.federation.send(message('alice@a.test', 'bob@b.test', 'over EXTERNAL'))).toBe('sent');
    expect((await waitFor(() => b.delivered[0], 'the message at b')).getChildText('body')).toBe('over EXTERNAL');
    expect(authenticated(a, 'b.test')).toBe('sasl-external');
  });

  it('keeps stanzas in order and reuses one stream per domain pair', async () => {
    const [a, b] = await pair('self-signed');
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => a.federation.send(message('alice@a.test', 'bob@b.test', `n${n}`, `id${n}`))));
    expect(results).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    await waitFor(() => b.delivered.length === 5, 'five messages');
    expect(b.delivered.map((m) => m.getChildText('body'))).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(a.logs.filter((l) => l.msg === 's2s outbound stream ready')).toHaveLength(1);
    expect(a.federation.stats().outbound).toBe(1);
  });

  it('answers internal-server-error to the sender when the core cannot take an inbound stanza, and goes on', async () => {
    const [a, b] = await pair('self-signed', {}, {}, (stanza) => stanza.getChildText('body') === 'boom');
    expect(await a.federation.send(message('alice@a.test/phone', 'bob@b.test', 'boom', 'x1'))).toBe('sent');
    const error = await waitFor(() => a.delivered[0], 'the error at a');
    expect(error.attrs).toMatchObject({ type: 'error', id: 'x1', from: 'bob@b.test', to: 'alice@a.test/phone' });
    expect(error.getChild('error')?.getChild('internal-server-error', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
    // The stream stays up: the next stanza is delivered.
    expect(await a.federation.send(message('alice@a.test/phone', 'bob@b.test', 'fine', 'x2'))).toBe('sent');
    expect((await waitFor(() => b.delivered[0], 'the next message at b')).getChildText('body')).toBe('fine');
    expect(b.logs.some((l) => l.msg === 's2s delivery failed')).toBe(true);
  });

  it('refuses dialback from a peer with a self-signed certificate when that is not allowed, and bounces', async () => {
    const [a, b] = await pair('self-signed', { retryWindowMs: 1500 }, { allowDialbackWithInvalidCert: false });
    const result = await a.federation.send(message('alice@a.test/phone', 'bob@b.test', 'let me in'));
    expect(result).toBe('bounced');
    expect(b.delivered).toHaveLength(0);
    const bounce = a.delivered[0]!;
    expect(bounce.attrs).toMatchObject({ type: 'error', from: 'bob@b.test', to: 'alice@a.test/phone' });
    expect(bounce.getChild('error')?.getChild('remote-server-timeout', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
  });
});
