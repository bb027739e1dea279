import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate, testCa, type Pem } from '../../lib/federation/certificates.ts';
import { dialbackKey } from '../../lib/federation/dialback.ts';
import { freePort, HEADER, rawConnect, startPeer, waitFor, type Peer, type RawPeer } from './helpers.ts';

const peers: Peer[] = [];
const raws: RawPeer[] = [];
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.socket.destroy();
  await Promise.all(peers.splice(0).map((p) => p.federation.close()));
});

const STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const lastStreamId = (text: string) => [...text.matchAll(/<stream:stream [^>]*id="([^"]+)"/g)].at(-1)![1]!;

/** b.test (the server under test), and a real a.test as the authoritative server for dialback. */
async function setup(options: { allowDialback?: boolean; ca?: boolean; maxStanzaBytes?: number; domainsB?: string[] } = {}) {
  let certA: Pem, certB: Pem, ca: string[] | undefined;
  if (options.ca) {
    const authority = await testCa();
    [certA, certB] = await Promise.all([authority.issue(['a.test']), authority.issue(['b.test'])]);
    ca = [authority.cert];
  } else [certA, certB] = await Promise.all([selfSignedCertificate(['a.test']), selfSignedCertificate(['b.test'])]);
  const [portA, portB] = [await freePort(), await freePort()];
  const routes = { 'a.test': { host: '127.0.0.1', port: portA }, 'b.test': { host: '127.0.0.1', port: portB } };
  const a = await startPeer('a.test', { tls: { ...certA, ca }, routes }, portA);
  const b = await startPeer(
    'b.test',
    {
      tls: { ...certB, ca },
      routes,
      allowDialbackWithInvalidCert: options.allowDialback ?? true,
      maxStanzaBytes: options.maxStanzaBytes,
      ...(options.domainsB ? { domains: options.domainsB } : {}),
    },
    portB,
  );
  peers.push(a, b);
  return { a, b, certA };
}

async function raw(port: number) {
  const peer = await rawConnect(port);
  raws.push(peer);
  return peer;
}

/** A raw a.test: stream header, STARTTLS (with a.test's certificate), new header, features after TLS. */
async function secured(port: number, cert: Pem) {
  const peer = await raw(port);
  peer.write(HEADER('a.test', 'b.test'));
  await peer.waitFor('</stream:features>');
  peer.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
  await peer.waitFor(`<proceed xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>`);
  await peer.startTls({ cert: cert.cert, key: cert.key, servername: 'b.test' });
  peer.write(HEADER('a.test', 'b.test'));
  await peer.waitFor(/<stream:features\/>|<\/stream:features>/);
  return peer;
}

/** …then dialback for a.test → b.test with the key a.test's real server would have made. */
async function authenticated(port: number, cert: Pem) {
  const peer = await secured(port, cert);
  const key = dialbackKey('secret of a.test', 'b.test', 'a.test', lastStreamId(peer.received()));
  peer.write(`<db:result from='a.test' to='b.test'>${key}</db:result>`);
  await peer.waitFor('<db:result from="b.test" to="a.test" type="valid"/>');
  return peer;
}

describe('inbound stream negotiation (literal)', () => {
  it('answers a jabber:server stream with the dialback namespace, version 1.0, an id, and STARTTLS required', async () => {
    const { b } = await setup();
    const peer = await raw(b.port);
    peer.write(HEADER('a.test', 'b.test'));
    const text = await peer.waitFor('</stream:features>');
    expect(text).toMatch(
      /^<\?xml version='1.0'\?><stream:stream xmlns="jabber:server" xmlns:stream="http:\/\/etherx.jabber.org\/streams" xmlns:db="jabber:server:dialback" version="1.0" id="[^"]+" from="b.test" to="a.test">/,
    );
    expect(text).toContain('<stream:features><starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"><required/></starttls></stream:features>');
  });

  it('offers dialback but not EXTERNAL after TLS when the peer certificate is self-signed', async () => {
    const { b, certA } = await setup();
    const peer = await secured(b.port, certA);
    const features = peer.received().slice(peer.received().indexOf('<stream:features>'));
    expect(features).toBe('<stream:features><dialback xmlns="urn:xmpp:features:dialback"><errors/></dialback></stream:features>');
  });

  it('offers SASL EXTERNAL when the peer certificate is valid for its domain, and accepts it', async () => {
    const { b, certA } = await setup({ ca: true, allowDialback: false });
    const peer = await secured(b.port, certA);
    expect(peer.received()).toContain(
      '<stream:features><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>EXTERNAL</mechanism></mechanisms><dialback xmlns="urn:xmpp:features:dialback"><errors/></dialback></stream:features>',
    );
    peer.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>${Buffer.from('a.test').toString('base64')}</auth>`);
    await peer.waitFor('<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>');
    peer.write(HEADER('a.test', 'b.test'));
    await peer.waitFor(/<stream:stream [^>]*>(?:.(?!<stream:stream))*<stream:features\/>/s);
    peer.write(`<message from='alice@a.test' to='bob@b.test' id='e1'><body>via EXTERNAL</body></message>`);
    expect((await waitFor(() => b.delivered[0], 'delivery')).getChildText('body')).toBe('via EXTERNAL');
  });

  it('refuses EXTERNAL for a domain the certificate does not name', async () => {
    const { b, certA } = await setup({ ca: true });
    const peer = await secured(b.port, certA);
    peer.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>${Buffer.from('c.test').toString('base64')}</auth>`);
    await peer.waitFor('<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><invalid-authzid/></failure>');
  });

  it('offers neither EXTERNAL nor dialback to a self-signed peer when dialback with invalid certificates is off', async () => {
    const { b, certA } = await setup({ allowDialback: false });
    const peer = await secured(b.port, certA);
    expect(peer.received()).toContain('<stream:features/>');
    const key = dialbackKey('secret of a.test', 'b.test', 'a.test', lastStreamId(peer.received()));
    peer.write(`<db:result from='a.test' to='b.test'>${key}</db:result>`);
    await peer.waitFor(
      '<db:result from="b.test" to="a.test" type="error"><error type="auth"><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></db:result>',
    );
  });

  it('answers db:result valid after verifying with the authoritative server, and delivers stanzas', async () => {
    const { b, certA } = await setup();
    const peer = await authenticated(b.port, certA);
    peer.write(`<message from='alice@a.test/x' to='bob@b.test' id='d1'><body>hi</body></message>`);
    const delivered = await waitFor(() => b.delivered[0], 'delivery');
    expect(delivered.toString()).toBe('<message xmlns="jabber:client" from="alice@a.test/x" to="bob@b.test" id="d1"><body>hi</body></message>');
  });

  it('answers db:result invalid for a wrong key and closes the stream', async () => {
    const { b, certA } = await setup();
    const peer = await secured(b.port, certA);
    peer.write(`<db:result from='a.test' to='b.test'>${'0'.repeat(64)}</db:result>`);
    await peer.waitFor('<db:result from="b.test" to="a.test" type="invalid"/></stream:stream>');
    await peer.closed;
  });

  it('answers db:result with item-not-found for a domain it does not serve', async () => {
    const { b, certA } = await setup();
    const peer = await secured(b.port, certA);
    peer.write(`<db:result from='a.test' to='c.test'>abc</db:result>`);
    await peer.waitFor(
      '<db:result from="c.test" to="a.test" type="error"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></db:result>',
    );
  });

  it('authenticates a second domain pair on the same stream (XEP-0220 §4, multiplexing)', async () => {
    const { b, certA } = await setup({ domainsB: ['b.test', 'chat.b.test'] });
    const peer = await authenticated(b.port, certA);
    const key = dialbackKey('secret of a.test', 'chat.b.test', 'a.test', lastStreamId(peer.received()));
    peer.write(`<db:result from='a.test' to='chat.b.test'>${key}</db:result>`);
    await peer.waitFor('<db:result from="chat.b.test" to="a.test" type="valid"/>');
    peer.write(`<message from='alice@a.test' to='room@chat.b.test'><body>multiplexed</body></message>`);
    expect((await waitFor(() => b.delivered[0], 'delivery')).attrs.to).toBe('room@chat.b.test');
  });

  it('invalid-from: a stanza for one of our domains the stream has not authenticated the sender for', async () => {
    const { b, certA } = await setup({ domainsB: ['b.test', 'chat.b.test'] });
    const peer = await authenticated(b.port, certA);
    peer.write(`<message from='alice@a.test' to='room@chat.b.test'><body>not yet</body></message>`);
    await peer.waitFor(`<stream:error><invalid-from xmlns="${STREAMS}"/>`);
    expect(b.delivered).toHaveLength(0);
  });

  it('answers db:result with not-acceptable when the peer claims to be one of our own domains', async () => {
    const { b, certA } = await setup();
    const peer = await secured(b.port, certA);
    peer.write(`<db:result from='b.test' to='b.test'>abc</db:result>`);
    await peer.waitFor(
      '<db:result from="b.test" to="b.test" type="error"><error type="cancel"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></db:result>',
    );
  });

  it('answers db:verify as the authoritative server from its dialback secret', async () => {
    const { b, certA } = await setup();
    const peer = await secured(b.port, certA);
    const good = dialbackKey('secret of b.test', 'a.test', 'b.test', 'S1');
    peer.write(`<db:verify from='a.test' to='b.test' id='S1'>${good}</db:verify>`);
    await peer.waitFor('<db:verify from="b.test" to="a.test" id="S1" type="valid"/>');
    peer.write(`<db:verify from='a.test' to='b.test' id='S2'>${good}</db:verify>`);
    await peer.waitFor('<db:verify from="b.test" to="a.test" id="S2" type="invalid"/>');
    peer.write(`<db:verify from='a.test' to='c.test' id='S3'>${good}</db:verify>`);
    await peer.waitFor('<db:verify from="c.test" to="a.test" id="S3" type="error"><error type="cancel"><item-not-found');
  });
});

describe('inbound stream errors (RFC 6120 §4.9.3)', () => {
  const streamError = (condition: string) => `<stream:error><${condition} xmlns="${STREAMS}"/>`;

  it('invalid-from: a stanza from a domain the stream did not authenticate', async () => {
    const { b, certA } = await setup();
    const peer = await authenticated(b.port, certA);
    peer.write(`<message from='mallory@c.test' to='bob@b.test'><body>spoof</body></message>`);
    await peer.waitFor(streamError('invalid-from'));
    await peer.waitFor('</stream:stream>');
    expect(b.delivered).toHaveLength(0);
  });

  it('host-unknown: a stanza to a domain not served here', async () => {
    const { b, certA } = await setup();
    const peer = await authenticated(b.port, certA);
    peer.write(`<message from='alice@a.test' to='carol@c.test'><body>x</body></message>`);
    await peer.waitFor(streamError('host-unknown'));
  });

  it('host-unknown: a stream header to a domain not served here', async () => {
    const { b } = await setup();
    const peer = await raw(b.port);
    peer.write(HEADER('a.test', 'c.test'));
    await peer.waitFor(`${streamError('host-unknown')}</stream:error></stream:stream>`);
  });

  it('improper-addressing: a stanza without from or to', async () => {
    const { b, certA } = await setup();
    const peer = await authenticated(b.port, certA);
    peer.write(`<message to='bob@b.test'><body>x</body></message>`);
    await peer.waitFor(streamError('improper-addressing'));
  });

  it('not-authorized: a stanza before authentication', async () => {
    const { b, certA } = await setup();
    const peer = await secured(b.port, certA);
    peer.write(`<message from='alice@a.test' to='bob@b.test'><body>x</body></message>`);
    await peer.waitFor(streamError('not-authorized'));
  });

  it('policy-violation: anything but STARTTLS before TLS', async () => {
    const { b } = await setup();
    const peer = await raw(b.port);
    peer.write(HEADER('a.test', 'b.test'));
    await peer.waitFor('</stream:features>');
    peer.write(`<db:result from='a.test' to='b.test'>abc</db:result>`);
    await peer.waitFor(streamError('policy-violation'));
  });

  it('not-well-formed: garbage ends that stream only; the next peer is served', async () => {
    const { b, certA } = await setup();
    const bad = await raw(b.port);
    bad.write(HEADER('a.test', 'b.test'));
    await bad.waitFor('</stream:features>');
    bad.write('<message><</message>');
    await bad.waitFor(new RegExp(`${streamError('not-well-formed')}.*</stream:error></stream:stream>$`));
    await bad.closed;
    const good = await authenticated(b.port, certA);
    good.write(`<message from='alice@a.test' to='bob@b.test'><body>still here</body></message>`);
    expect((await waitFor(() => b.delivered[0], 'delivery')).getChildText('body')).toBe('still here');
  });

  it('restricted-xml: a processing instruction or comment', async () => {
    const { b } = await setup();
    const peer = await raw(b.port);
    peer.write(HEADER('a.test', 'b.test'));
    await peer.waitFor('</stream:features>');
    peer.write('<!-- hello -->');
    await peer.waitFor(streamError('restricted-xml'));
  });

  it('policy-violation: an element over the size limit', async () => {
    const { b } = await setup({ maxStanzaBytes: 2048 });
    const peer = await raw(b.port);
    peer.write(HEADER('a.test', 'b.test'));
    await peer.waitFor('</stream:features>');
    peer.write(`<message from='alice@a.test' to='bob@b.test'><body>${'x'.repeat(4096)}</body></message>`);
    await peer.waitFor(streamError('policy-violation'));
  });

  it('invalid-namespace: a stream that is not jabber:server', async () => {
    const { b } = await setup();
    const peer = await raw(b.port);
    peer.write(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='b.test' version='1.0'>`);
    await peer.waitFor(streamError('invalid-namespace'));
  });
});

/** With the openssl CLI: a CA and an a.test leaf whose extended key usage is serverAuth only (no clientAuth). */
function serverAuthOnlyCertificate(): { ca: string; leaf: Pem } {
  const dir = mkdtempSync(join(tmpdir(), 'cirrus-pkix-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    run('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=a.test');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:a.test\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
    run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext.cnf');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { ca: read('ca.pem'), leaf: { cert: read('leaf.pem'), key: read('leaf.key') } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('certificate purpose', () => {
  it('offers EXTERNAL to a peer whose CA-issued certificate lacks clientAuth (as public CAs now issue them)', async () => {
    const { ca, leaf } = serverAuthOnlyCertificate();
    const b = await startPeer('b.test', { tls: { ...(await selfSignedCertificate(['b.test'])), ca: [ca] }, allowDialbackWithInvalidCert: false });
    peers.push(b);
    const peer = await secured(b.port, leaf);
    expect(peer.received()).toContain('<mechanism>EXTERNAL</mechanism>');
  });

  it('still refuses such a certificate when its CA is not trusted', async () => {
    const { leaf } = serverAuthOnlyCertificate();
    const b = await startPeer('b.test', { tls: await selfSignedCertificate(['b.test']), allowDialbackWithInvalidCert: false });
    peers.push(b);
    const peer = await secured(b.port, leaf);
    expect(peer.received()).not.toContain('EXTERNAL');
  });
});
