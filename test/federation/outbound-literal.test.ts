import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';
import { dialbackKey } from '../../lib/federation/dialback.ts';
import { message, startPeer, waitFor, type Peer } from './helpers.ts';

const peers: Peer[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.federation.close()));
  for (const s of servers.splice(0)) s.close();
});

const HEADER = (id: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='b.test' to='a.test' id='${id}' version='1.0'>`;

/**
 * A scripted b.test: STARTTLS, then offers EXTERNAL and dialback, refuses EXTERNAL, accepts any dialback key.
 * Records everything a.test writes, per stream (before TLS, after TLS).
 */
async function scriptedPeer() {
  const { cert, key } = await selfSignedCertificate(['b.test']);
  const wire: string[] = ['', ''];
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      wire[0] += chunk;
      if (chunk.includes('<stream:stream')) {
        socket.write(`${HEADER('PLAIN1')}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>`);
      }
      if (chunk.includes('<starttls')) {
        socket.removeAllListeners('data');
        socket.write(`<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
        const secure = new tls.TLSSocket(socket, { isServer: true, cert, key });
        secure.setEncoding('utf8');
        secure.on('error', () => undefined);
        secure.on('data', (data: string) => {
          wire[1] += data;
          if (data.includes('<stream:stream')) {
            secure.write(
              `${HEADER('RAW1')}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism></mechanisms><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>`,
            );
          }
          if (data.includes('<auth')) secure.write(`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>`);
          if (data.includes('<db:result')) secure.write(`<db:result from='b.test' to='a.test' type='valid'/>`);
        });
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, wire };
}

describe('outbound stream negotiation (literal)', () => {
  it('opens with from/to, does STARTTLS, tries EXTERNAL, falls back to dialback with the XEP-0185 key, then sends the stanza', async () => {
    const b = await scriptedPeer();
    const a = await startPeer('a.test', { tls: await selfSignedCertificate(['a.test']), routes: { 'b.test': { host: '127.0.0.1', port: b.port } } }, undefined);
    peers.push(a);
    expect(await a.federation.send(message('alice@a.test/x', 'bob@b.test', 'hi'))).toBe('sent');
    await waitFor(() => b.wire[1]!.includes('</message>'), 'the message on the wire');
    const header = `<?xml version='1.0'?><stream:stream xmlns="jabber:server" xmlns:stream="http://etherx.jabber.org/streams" xmlns:db="jabber:server:dialback" version="1.0" from="a.test" to="b.test">`;
    expect(b.wire[0]).toBe(`${header}<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>`);
    const key = dialbackKey('secret of a.test', 'b.test', 'a.test', 'RAW1');
    expect(b.wire[1]).toBe(
      header +
        `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="EXTERNAL">${Buffer.from('a.test').toString('base64')}</auth>` +
        `<db:result from="a.test" to="b.test">${key}</db:result>` +
        `<message from="alice@a.test/x" to="bob@b.test" type="chat" id="m1"><body>hi</body></message>`,
    );
    expect(a.logs.find((l) => l.msg === 's2s outbound stream ready')).toMatchObject({ authentication: 'dialback' });
  });
});
