import type { SrvRecord } from 'node:dns';
import net from 'node:net';
import xml from '@xmpp/xml';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';
import { order, resolveCandidates } from '../../lib/federation/dns.ts';
import { freePort, message, startPeer, waitFor, type Peer } from './helpers.ts';

const peers: Peer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.federation.close()));
});

const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

describe('bounces (RFC 6120 §8.3.3.16)', () => {
  it('bounces remote-server-not-found to the sender when the route is unreachable, after the retry window', async () => {
    const dead = await freePort(); // nothing listens there
    const a = await startPeer('a.test', {
      tls: await selfSignedCertificate(['a.test']),
      routes: { 'nowhere.test': { host: '127.0.0.1', port: dead } },
      retryWindowMs: 2000,
    });
    peers.push(a);
    const iq = xml('iq', { xmlns: 'jabber:client', type: 'get', id: 'p1', from: 'alice@a.test/phone', to: 'nowhere.test' }, xml('ping', { xmlns: 'urn:xmpp:ping' }));
    expect(await a.federation.send(iq)).toBe('bounced');
    expect(a.delivered).toHaveLength(1);
    expect(a.delivered[0]!.toString()).toBe(
      `<iq xmlns="jabber:client" type="error" id="p1" from="nowhere.test" to="alice@a.test/phone"><ping xmlns="urn:xmpp:ping"/><error type="cancel"><remote-server-not-found xmlns="${STANZAS}"/></error></iq>`,
    );
    // Retried meanwhile (attempts at 0, 0.5 s, 1.5 s, 3.5 s: backoff doubles): not a busy loop, nor a single try.
    const attempts = a.logs.filter((l) => l.msg === 's2s outbound connect failed');
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThanOrEqual(3);
  });

  it('bounces remote-server-timeout when the peer accepts the connection but never answers (§8.3.3.17)', async () => {
    const silent = net.createServer(() => undefined); // accepts, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const a = await startPeer('a.test', {
        tls: await selfSignedCertificate(['a.test']),
        routes: { 'silent.test': { host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port } },
        connectTimeoutMs: 200,
        retryWindowMs: 1500,
      });
      peers.push(a);
      expect(await a.federation.send(message('alice@a.test', 'bob@silent.test', 'anyone?'))).toBe('bounced');
      expect(a.delivered[0]!.getChild('error')?.toString()).toBe(`<error type="wait"><remote-server-timeout xmlns="${STANZAS}"/></error>`);
      expect(a.logs.some((l) => l.msg === 's2s outbound stream failed' && l.reason === 'negotiation timed out')).toBe(true);
    } finally {
      silent.close();
    }
  });

  it('never bounces an error stanza, and does not bounce presence', async () => {
    const dead = await freePort();
    const a = await startPeer('a.test', {
      tls: await selfSignedCertificate(['a.test']),
      routes: { 'nowhere.test': { host: '127.0.0.1', port: dead } },
      retryWindowMs: 800,
    });
    peers.push(a);
    const error = xml('message', { xmlns: 'jabber:client', type: 'error', from: 'alice@a.test', to: 'bob@nowhere.test' }, xml('error', { type: 'cancel' }));
    const presence = xml('presence', { xmlns: 'jabber:client', from: 'alice@a.test/phone', to: 'bob@nowhere.test' });
    expect(await Promise.all([a.federation.send(error), a.federation.send(presence)])).toEqual(['dropped', 'dropped']);
    expect(a.delivered).toHaveLength(0);
  });

  it('refuses to send a stanza whose from is not one of our domains', async () => {
    const a = await startPeer('a.test', { tls: await selfSignedCertificate(['a.test']) }, undefined);
    peers.push(a);
    expect(await a.federation.send(message('eve@evil.test', 'bob@b.test', 'x'))).toBe('dropped');
  });
});

describe('stream lifetime', () => {
  it('keeps an outbound stream alive with whitespace keepalives past the peer idle timeout', async () => {
    const [certA, certB] = await Promise.all([selfSignedCertificate(['a.test']), selfSignedCertificate(['b.test'])]);
    const [portA, portB] = [await freePort(), await freePort()];
    const routes = { 'a.test': { host: '127.0.0.1', port: portA }, 'b.test': { host: '127.0.0.1', port: portB } };
    const a = await startPeer('a.test', { tls: certA, routes, keepaliveIntervalMs: 100 }, portA);
    const b = await startPeer('b.test', { tls: certB, routes, idleTimeoutMs: 600 }, portB);
    peers.push(a, b);
    expect(await a.federation.send(message('alice@a.test', 'bob@b.test', 'one', 'k1'))).toBe('sent');
    await waitFor(() => b.delivered.length === 1, 'first message');
    await new Promise((r) => setTimeout(r, 1500)); // well past b's idle timeout
    expect(await a.federation.send(message('alice@a.test', 'bob@b.test', 'two', 'k2'))).toBe('sent');
    await waitFor(() => b.delivered.length === 2, 'second message');
    expect(a.logs.filter((l) => l.msg === 's2s outbound stream ready' && l.to === 'b.test')).toHaveLength(1);
  });

  it('closes an outbound stream nobody used for the idle timeout, and opens a new one when needed', async () => {
    const [certA, certB] = await Promise.all([selfSignedCertificate(['a.test']), selfSignedCertificate(['b.test'])]);
    const [portA, portB] = [await freePort(), await freePort()];
    const routes = { 'a.test': { host: '127.0.0.1', port: portA }, 'b.test': { host: '127.0.0.1', port: portB } };
    const a = await startPeer('a.test', { tls: certA, routes, idleTimeoutMs: 400 }, portA);
    const b = await startPeer('b.test', { tls: certB, routes }, portB);
    peers.push(a, b);
    expect(await a.federation.send(message('alice@a.test', 'bob@b.test', 'one', 'i1'))).toBe('sent');
    expect(a.federation.stats().outbound).toBe(1);
    await waitFor(() => a.federation.stats().outbound === 0, 'the idle outbound stream to close');
    expect(await a.federation.send(message('alice@a.test', 'bob@b.test', 'two', 'i2'))).toBe('sent');
    await waitFor(() => b.delivered.length === 2, 'both messages');
    expect(a.logs.filter((l) => l.msg === 's2s outbound stream ready' && l.to === 'b.test')).toHaveLength(2);
  });

  it('closes an idle inbound stream', async () => {
    const b = await startPeer('b.test', { tls: await selfSignedCertificate(['b.test']), idleTimeoutMs: 300 });
    peers.push(b);
    const { rawConnect, HEADER } = await import('./helpers.ts');
    const peer = await rawConnect(b.port);
    peer.write(HEADER('a.test', 'b.test'));
    await peer.waitFor('</stream:features>');
    expect(b.federation.stats().inbound).toBe(1);
    await peer.closed;
    expect(peer.received().endsWith('</stream:stream>')).toBe(true);
    await waitFor(() => b.federation.stats().inbound === 0, 'inbound stream gone');
  });
});

describe('DNS (RFC 6120 §3.2, XEP-0368)', () => {
  const srv = (name: string, port: number, priority = 0, weight = 0): SrvRecord => ({ name, port, priority, weight });
  const resolver = (records: Record<string, SrvRecord[]>) => ({
    async resolveSrv(name: string) {
      const found = records[name];
      if (!found) throw Object.assign(new Error(`queryNotFound ${name}`), { code: 'ENOTFOUND' });
      return found;
    },
  });

  it('tries _xmpps-server (direct TLS) first, then _xmpp-server, each by priority', async () => {
    const candidates = await resolveCandidates('example.net', {}, resolver({
      '_xmpps-server._tcp.example.net': [srv('tls2.example.net', 5223, 20), srv('tls1.example.net', 443, 10)],
      '_xmpp-server._tcp.example.net': [srv('xmpp2.example.net', 5270, 5), srv('xmpp1.example.net', 5269, 1)],
    }));
    expect(candidates).toEqual([
      { host: 'tls1.example.net', port: 443, directTls: true },
      { host: 'tls2.example.net', port: 5223, directTls: true },
      { host: 'xmpp1.example.net', port: 5269, directTls: false },
      { host: 'xmpp2.example.net', port: 5270, directTls: false },
    ]);
  });

  it('falls back to the domain on 5269 without SRV records, and gives up on a "." record', async () => {
    expect(await resolveCandidates('plain.net', {}, resolver({}))).toEqual([{ host: 'plain.net', port: 5269, directTls: false }]);
    expect(await resolveCandidates('no.net', {}, resolver({ '_xmpp-server._tcp.no.net': [srv('.', 0)] }))).toEqual([]);
  });

  it('lets a static route override DNS', async () => {
    const routes = { 'private.net': { host: '10.0.0.5', port: 5999 } };
    expect(await resolveCandidates('private.net', routes, resolver({ '_xmpp-server._tcp.private.net': [srv('x', 1)] }))).toEqual([
      { host: '10.0.0.5', port: 5999, directTls: false },
    ]);
  });

  it('orders records of one priority by weight (RFC 2782)', () => {
    const records = [srv('light', 1, 0, 10), srv('heavy', 2, 0, 90)];
    expect(order(records, () => 0.5).map((r) => r.name)).toEqual(['heavy', 'light']);
    expect(order(records, () => 0.05).map((r) => r.name)).toEqual(['light', 'heavy']);
  });

  it('reaches a peer over direct TLS found through _xmpps-server SRV (XEP-0368)', async () => {
    const [certA, certB] = await Promise.all([selfSignedCertificate(['a.test']), selfSignedCertificate(['b.test'])]);
    const portA = await freePort();
    const b = await startPeer('b.test', { tls: certB, routes: { 'a.test': { host: '127.0.0.1', port: portA } } }, undefined);
    const { directTlsPort } = await b.federation.listen({ host: '127.0.0.1', port: 0, directTlsPort: 0 });
    const a = await startPeer(
      'a.test',
      { tls: certA, resolver: resolver({ '_xmpps-server._tcp.b.test': [srv('127.0.0.1', directTlsPort!)] }) },
      portA,
    );
    peers.push(a, b);
    expect(await a.federation.send(message('alice@a.test', 'bob@b.test', 'direct'))).toBe('sent');
    expect((await waitFor(() => b.delivered[0], 'delivery')).getChildText('body')).toBe('direct');
  });
});
