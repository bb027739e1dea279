import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { xmppJs } from '../support/clients.ts';
import { OPEN, rawClient, streamError } from '../support/raw.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

const REGISTER = 'jabber:iq:register';
const register = (id: string, username: string, password: string) =>
  `<iq xmlns="jabber:client" type="set" id="${id}"><query xmlns="${REGISTER}"><username>${username}</username><password>${password}</password></query></iq>`;

async function opened(url: string) {
  const c = await rawClient(url);
  c.send(OPEN);
  await c.count(2);
  return c;
}

describe('in-band registration (XEP-0077), allowed', () => {
  let domain: TestDomain;
  beforeAll(async () => {
    domain = await startTestDomain({ allowRegistration: true });
    await domain.addUser('taken@localhost');
  });
  afterAll(() => domain?.stop());

  test('the stream features advertise it', async () => {
    const c = await opened(domain.url);
    expect(c.frames[1]).toContain('<register xmlns="http://jabber.org/features/iq-register"/>');
    c.ws.close();
  });

  test('the form asks for username and password', async () => {
    const c = await opened(domain.url);
    c.send(`<iq xmlns="jabber:client" type="get" id="f"><query xmlns="${REGISTER}"/></iq>`);
    const form = await c.waitFor((f) => f.includes('id="f"'));
    expect(form).toBe(
      `<iq xmlns="jabber:client" type="result" id="f"><query xmlns="${REGISTER}"><instructions>Choose a username and password.</instructions><username/><password/></query></iq>`,
    );
    c.ws.close();
  });

  test('a new account can be created and then logs in with a real client', async () => {
    const c = await opened(domain.url);
    c.send(register('r1', 'Newbie', 'pw1'));
    expect(await c.waitFor((f) => f.includes('id="r1"'))).toBe('<iq xmlns="jabber:client" type="result" id="r1"/>');
    c.ws.close();
    const account = await domain.accounts.get('newbie@localhost');
    expect(account?.jid).toBe('newbie@localhost');
    expect(JSON.stringify(account)).not.toContain('pw1');
    const client = await xmppJs(domain.url, 'newbie', { password: 'pw1' });
    expect(client.jid).toMatch(/^newbie@localhost\//);
    await client.client.stop();
  });

  test('a taken username gets conflict; missing fields get not-acceptable', async () => {
    const c = await opened(domain.url);
    c.send(register('r2', 'taken', 'x'));
    expect(await c.waitFor((f) => f.includes('id="r2"'))).toContain('<conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>');
    c.send(`<iq xmlns="jabber:client" type="set" id="r3"><query xmlns="${REGISTER}"><username>x</username></query></iq>`);
    expect(await c.waitFor((f) => f.includes('id="r3"'))).toContain('<not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>');
    c.ws.close();
  });
});

describe('in-band registration, off by default', () => {
  let domain: TestDomain;
  beforeAll(async () => (domain = await startTestDomain()));
  afterAll(() => domain?.stop());

  test('is neither advertised nor accepted: a registration IQ before auth is not-authorized', async () => {
    const c = await opened(domain.url);
    expect(c.frames[1]).not.toContain('iq-register');
    c.send(register('r1', 'someone', 'pw'));
    await c.closed;
    expect(c.frames.find((f) => f.startsWith('<stream:error'))!.startsWith(streamError('not-authorized'))).toBe(true);
    expect(await domain.accounts.get('someone@localhost')).toBeUndefined();
  });
});
