import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boundRawClient, CLOSE, OPEN, rawClient, streamError } from '../support/raw.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

let domain: TestDomain;
beforeAll(async () => {
  domain = await startTestDomain({ config: { negotiationTimeoutMs: 1500 } });
  await domain.addUser('alice@localhost');
});
afterAll(() => domain?.stop());

/** Sends frames on a fresh stream and expects the stream error, then `<close/>`, then the socket closing. */
async function expectStreamError(frames: string[], condition: string, { opened = true } = {}) {
  const c = await rawClient(domain.url);
  for (const frame of frames) c.send(frame);
  await c.closed;
  const error = c.frames.find((f) => f.startsWith('<stream:error'))!;
  expect(error.startsWith(streamError(condition))).toBe(true);
  expect(c.frames[c.frames.indexOf(error) + 1]).toBe(CLOSE);
  if (!opened) expect(c.frames[0]).toMatch(/^<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" from="localhost" id="[^"]+" version="1.0" xml:lang="en"\/>$/);
  return c;
}

describe('stream negotiation (RFC 7395, RFC 6120 §4)', () => {
  test('opening the stream gets <open/> then the SASL features', async () => {
    const c = await rawClient(domain.url);
    c.send(OPEN);
    const [open, features] = await c.count(2);
    expect(open).toMatch(/^<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" from="localhost" id="[\w-]+" version="1.0" xml:lang="en"\/>$/);
    expect(features).toBe(
      '<stream:features xmlns:stream="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl">' +
        '<mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>',
    );
    c.ws.close();
  });

  test('<close/> is answered with <close/> and the server closes the socket', async () => {
    const c = await rawClient(domain.url);
    c.send(OPEN);
    await c.count(2);
    c.send(CLOSE);
    await c.closed;
    expect(c.frames[2]).toBe(CLOSE);
  });

  test('after authentication, the features are bind, optional session, roster versioning and pre-approval', async () => {
    const c = await rawClient(domain.url);
    c.send(OPEN);
    await c.count(2);
    c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">${Buffer.from('\0alice\0secret').toString('base64')}</auth>`);
    await c.waitFor((f) => f.startsWith('<success'));
    c.frames.length = 0;
    c.send(OPEN);
    const features = await c.waitFor((f) => f.startsWith('<stream:features'));
    expect(features).toBe(
      '<stream:features xmlns:stream="http://etherx.jabber.org/streams"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/>' +
        '<session xmlns="urn:ietf:params:xml:ns:xmpp-session"><optional/></session><ver xmlns="urn:xmpp:features:rosterver"/>' +
        '<sub xmlns="urn:xmpp:features:pre-approval"/></stream:features>',
    );
    c.ws.close();
  });
});

describe('stream errors end the stream: <stream:error/>, <close/>, socket closed', () => {
  test('not-well-formed: a frame that is not XML', () => expectStreamError([OPEN, '<message><body>x</message>'], 'not-well-formed'));
  test('not-well-formed: two elements in one frame', () => expectStreamError([OPEN, '<presence xmlns="jabber:client"/><presence xmlns="jabber:client"/>'], 'not-well-formed'));
  test('invalid-namespace: <open/> outside the framing namespace, with our <open/> first', () =>
    expectStreamError(['<open xmlns="jabber:client" to="localhost" version="1.0"/>'], 'invalid-namespace', { opened: false }));
  test('invalid-namespace: a stanza outside jabber:client', () => expectStreamError([OPEN, '<message xmlns="jabber:server" to="a@localhost"/>'], 'invalid-namespace'));
  test('host-unknown: a domain this server does not serve', () =>
    expectStreamError(['<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="example.org" version="1.0"/>'], 'host-unknown', { opened: false }));
  test('unsupported-version: a stream without version 1.0', () =>
    expectStreamError(['<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost"/>'], 'unsupported-version', { opened: false }));
  test('policy-violation: a stanza over the size limit', () =>
    expectStreamError([OPEN, `<message xmlns="jabber:client"><body>${'x'.repeat(70 * 1024)}</body></message>`], 'policy-violation'));
  test('restricted-xml: a DTD', () => expectStreamError([OPEN, '<!DOCTYPE x [<!ENTITY a "b">]><message xmlns="jabber:client">&a;</message>'], 'restricted-xml'));
  test('restricted-xml: a processing instruction', () => expectStreamError([OPEN, '<?evil x?><message xmlns="jabber:client"/>'], 'restricted-xml'));
  test('restricted-xml: a comment', () => expectStreamError([OPEN, '<message xmlns="jabber:client"><!-- hi --></message>'], 'restricted-xml'));
  test('not-authorized: a stanza before authentication', () =>
    expectStreamError([OPEN, '<message xmlns="jabber:client" to="alice@localhost"><body>hi</body></message>'], 'not-authorized'));
  test('unsupported-stanza-type: an unknown top-level element', () => expectStreamError([OPEN, '<foo xmlns="jabber:client"/>'], 'unsupported-stanza-type'));

  test('connection-timeout: a stream still not negotiated after the deadline', async () => {
    const c = await rawClient(domain.url);
    c.send(OPEN);
    await c.count(2);
    await new Promise((r) => setTimeout(r, 1700));
    c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">${Buffer.from('\0alice\0secret').toString('base64')}</auth>`);
    const error = await c.waitFor((f) => f.startsWith('<stream:error'));
    expect(error.startsWith(streamError('connection-timeout'))).toBe(true);
    await c.closed;
  });

  test('conflict: binding a resource already bound replaces the older session', async () => {
    const first = await boundRawClient(domain.url, 'alice', 'desk');
    const second = await boundRawClient(domain.url, 'alice', 'desk');
    await first.closed;
    const error = first.frames.find((f) => f.startsWith('<stream:error'))!;
    expect(error.startsWith(streamError('conflict'))).toBe(true);
    expect(first.frames[first.frames.indexOf(error) + 1]).toBe(CLOSE);
    // The newer session is the one that gets stanzas now.
    second.send('<iq xmlns="jabber:client" type="get" id="p1" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>');
    expect(await second.waitFor((f) => f.includes('id="p1"'))).toBe(
      '<iq xmlns="jabber:client" type="result" id="p1" from="localhost" to="alice@localhost/desk"/>',
    );
    second.ws.close();
  });

  test('frames after a stream error are ignored, not answered', async () => {
    const c = await rawClient(domain.url);
    c.send(OPEN);
    c.send('<nope');
    c.send('<iq xmlns="jabber:client" type="get" id="late"><ping xmlns="urn:xmpp:ping"/></iq>');
    await c.closed;
    expect(c.frames.filter((f) => f.includes('late'))).toEqual([]);
  });
});

describe('the gateway in front (API Gateway limits)', () => {
  test('a client without the xmpp subprotocol is refused at the handshake', async () => {
    await expect(rawClient(domain.url, ['chat'])).rejects.toThrow(/400|subprotocol/i);
  });
  test('a message over API Gateway\'s 128 KB closes the socket with 1009 and nothing is answered', async () => {
    const c = await rawClient(domain.url);
    c.send(`<message xmlns="jabber:client"><body>${'x'.repeat(130 * 1024)}</body></message>`);
    expect(await c.closed).toBe(1009);
  });
});
