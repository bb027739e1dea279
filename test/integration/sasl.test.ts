import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { b64, OPEN, rawClient, streamError } from '../support/raw.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

let domain: TestDomain;
beforeAll(async () => {
  domain = await startTestDomain();
  await domain.addUser('alice@localhost', 'correct horse');
});
afterAll(() => domain?.stop());

const SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const failure = (condition: string) => `<failure xmlns="${SASL}"><${condition}/></failure>`;
const plain = (user: string, password: string) => `<auth xmlns="${SASL}" mechanism="PLAIN">${b64(`\0${user}\0${password}`)}</auth>`;

async function opened() {
  const c = await rawClient(domain.url);
  c.send(OPEN);
  await c.count(2);
  c.frames.length = 0;
  return c;
}

describe('SASL (RFC 6120 §6)', () => {
  test('PLAIN with the right password succeeds and the stream must restart', async () => {
    const c = await opened();
    c.send(plain('alice', 'correct horse'));
    expect(await c.waitFor(() => true)).toBe(`<success xmlns="${SASL}"/>`);
    c.send(OPEN);
    expect(await c.waitFor((f) => f.startsWith('<stream:features'))).toContain('urn:ietf:params:xml:ns:xmpp-bind');
    c.ws.close();
  });

  test('a wrong password fails with not-authorized and the client may retry', async () => {
    const c = await opened();
    c.send(plain('alice', 'wrong'));
    expect(await c.waitFor(() => true)).toBe(failure('not-authorized'));
    c.send(plain('alice', 'correct horse'));
    expect(await c.waitFor((f) => f.startsWith('<success'))).toBe(`<success xmlns="${SASL}"/>`);
    c.ws.close();
  });

  test('an unknown user fails like a wrong password', async () => {
    const c = await opened();
    c.send(plain('nobody', 'x'));
    expect(await c.waitFor(() => true)).toBe(failure('not-authorized'));
    c.ws.close();
  });

  test('an unknown mechanism gets invalid-mechanism', async () => {
    const c = await opened();
    c.send(`<auth xmlns="${SASL}" mechanism="DIGEST-MD5">${b64('x')}</auth>`);
    expect(await c.waitFor(() => true)).toBe(failure('invalid-mechanism'));
    c.ws.close();
  });

  test('malformed base64 gets incorrect-encoding', async () => {
    const c = await opened();
    c.send(`<auth xmlns="${SASL}" mechanism="PLAIN">!!not base64!!</auth>`);
    expect(await c.waitFor(() => true)).toBe(failure('incorrect-encoding'));
    c.ws.close();
  });

  test('<abort/> during SCRAM gets aborted, and a new exchange can start', async () => {
    const c = await opened();
    c.send(`<auth xmlns="${SASL}" mechanism="SCRAM-SHA-256">${b64('n,,n=alice,r=abcdefgh')}</auth>`);
    const challenge = await c.waitFor(() => true);
    expect(challenge).toMatch(new RegExp(`^<challenge xmlns="${SASL}">[A-Za-z0-9+/=]+</challenge>$`));
    const serverFirst = Buffer.from(challenge.replace(/<[^>]+>/g, ''), 'base64').toString();
    expect(serverFirst).toMatch(/^r=abcdefgh[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    c.send(`<abort xmlns="${SASL}"/>`);
    expect(await c.waitFor((f) => f.startsWith('<failure'))).toBe(failure('aborted'));
    c.send(plain('alice', 'correct horse'));
    await c.waitFor((f) => f.startsWith('<success'));
    c.ws.close();
  });

  test('a SCRAM proof that does not match fails with not-authorized', async () => {
    const c = await opened();
    c.send(`<auth xmlns="${SASL}" mechanism="SCRAM-SHA-1">${b64('n,,n=alice,r=clientnonce')}</auth>`);
    const serverFirst = Buffer.from((await c.waitFor(() => true)).replace(/<[^>]+>/g, ''), 'base64').toString();
    const nonce = /r=([^,]+)/.exec(serverFirst)![1];
    c.send(`<response xmlns="${SASL}">${b64(`c=biws,r=${nonce},p=${Buffer.alloc(20).toString('base64')}`)}</response>`);
    expect(await c.waitFor((f) => f.startsWith('<failure'))).toBe(failure('not-authorized'));
    c.ws.close();
  });

  test('the fifth failure on one stream ends it with policy-violation', async () => {
    const c = await opened();
    for (let i = 0; i < 5; i++) c.send(plain('alice', `wrong${i}`));
    const error = await c.waitFor((f) => f.startsWith('<stream:error'));
    expect(c.frames.filter((f) => f === failure('not-authorized'))).toHaveLength(5);
    expect(error.startsWith(streamError('policy-violation'))).toBe(true);
    await c.closed;
  });
});
