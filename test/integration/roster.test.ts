import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { after, ask, xml, xmppJs, type XmppJs } from '../support/clients.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

const ROSTER = 'jabber:iq:roster';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const rosterGet = (attrs: Record<string, string> = {}) => xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ...attrs }));
const rosterSet = (...items: ReturnType<typeof xml>[]) => xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, ...items));
const condition = (iq: { getChild(n: string): any }) => iq.getChild('error')?.getChildElements()[0]?.name;

let domain: TestDomain;
let desk: XmppJs;
let phone: XmppJs;
let quiet: XmppJs;
beforeAll(async () => {
  domain = await startTestDomain();
  await Promise.all(['alice', 'bob', 'carol'].map((u) => domain.addUser(`${u}@localhost`)));
  desk = await xmppJs(domain.url, 'alice', { resource: 'desk' });
  phone = await xmppJs(domain.url, 'alice', { resource: 'phone' });
  quiet = await xmppJs(domain.url, 'alice', { resource: 'quiet' }); // never asks for the roster
});
afterAll(async () => {
  for (const c of [desk, phone, quiet]) await c?.client.stop();
  await domain?.stop();
});

describe('roster (RFC 6121 §2)', () => {
  test('an empty roster is an empty query with a version', async () => {
    const result = await ask(desk, rosterGet());
    expect(result.getChild('query')!.toString()).toBe(`<query xmlns="${ROSTER}" ver="0"/>`);
    await ask(phone, rosterGet());
  });

  test('a set is pushed to every resource that asked for the roster, and the roster keeps name and groups', async () => {
    const [d, p, q] = [desk.received.length, phone.received.length, quiet.received.length];
    const result = await ask(desk, rosterSet(xml('item', { jid: 'Bob@LocalHost', name: 'Bobby' }, xml('group', {}, 'Friends'), xml('group', {}, 'Work'))));
    expect(result.attrs.type).toBe('result');
    const expected = `<query xmlns="${ROSTER}" ver="1"><item jid="bob@localhost" name="Bobby" subscription="none"><group>Friends</group><group>Work</group></item></query>`;
    for (const [c, since] of [[desk, d], [phone, p]] as const) {
      const push = await after(c, since, (s) => s.is('iq') && s.attrs.type === 'set' && !!s.getChild('query', ROSTER));
      expect(push.attrs.to).toBe(c.jid);
      expect(push.getChild('query')!.toString()).toBe(expected);
    }
    // Ask the quiet resource something, so anything pushed to it would have arrived first.
    await ask(quiet, xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    expect(quiet.received.slice(q).filter((s) => s.getChild('query', ROSTER))).toEqual([]);

    const roster = await ask(phone, rosterGet());
    expect(roster.getChild('query')!.toString()).toBe(expected);
  });

  test('versioning (XEP-0237): the current version gets an empty result, an old one the whole roster', async () => {
    const current = await ask(desk, rosterGet({ ver: '1' }));
    expect(current.toString()).toBe(`<iq xmlns="jabber:client" type="result" id="${current.attrs.id}" to="${desk.jid}"/>`);
    await ask(desk, rosterSet(xml('item', { jid: 'carol@localhost' })));
    const changed = await ask(desk, rosterGet({ ver: '1' }));
    expect(changed.getChild('query')!.attrs.ver).toBe('2');
    expect(changed.getChild('query')!.getChildren('item').map((i: any) => i.attrs.jid).sort()).toEqual(['bob@localhost', 'carol@localhost']);
  });

  test('an update keeps the subscription and replaces name and groups', async () => {
    await ask(desk, rosterSet(xml('item', { jid: 'bob@localhost', name: 'Robert', subscription: 'both' }, xml('group', {}, 'Family'))));
    const item = (await ask(desk, rosterGet())).getChild('query')!.getChildren('item').find((i: any) => i.attrs.jid === 'bob@localhost')!;
    expect(item.toString()).toBe('<item jid="bob@localhost" name="Robert" subscription="none"><group>Family</group></item>');
  });

  test('removing an item pushes subscription="remove" and it is gone', async () => {
    const since = phone.received.length;
    expect((await ask(desk, rosterSet(xml('item', { jid: 'carol@localhost', subscription: 'remove' })))).attrs.type).toBe('result');
    const push = await after(phone, since, (s) => !!s.getChild('query', ROSTER)?.getChild('item'));
    expect(push.getChild('query')!.getChild('item')!.toString()).toBe('<item jid="carol@localhost" subscription="remove"/>');
    const items = (await ask(desk, rosterGet())).getChild('query')!.getChildren('item');
    expect(items.map((i: any) => i.attrs.jid)).toEqual(['bob@localhost']);
  });

  describe('errors (§2.3.3, §2.5.3)', () => {
    test('two items in one set: bad-request', async () => {
      expect(condition(await ask(desk, rosterSet(xml('item', { jid: 'x@localhost' }), xml('item', { jid: 'y@localhost' }))))).toBe('bad-request');
    });
    test('a name over 1023 bytes: not-acceptable', async () => {
      expect(condition(await ask(desk, rosterSet(xml('item', { jid: 'x@localhost', name: 'n'.repeat(1024) }))))).toBe('not-acceptable');
    });
    test('the same group twice: bad-request; an empty group: not-acceptable', async () => {
      expect(condition(await ask(desk, rosterSet(xml('item', { jid: 'x@localhost' }, xml('group', {}, 'A'), xml('group', {}, 'A')))))).toBe('bad-request');
      expect(condition(await ask(desk, rosterSet(xml('item', { jid: 'x@localhost' }, xml('group', {}, '')))))).toBe('not-acceptable');
    });
    test('an item without a valid jid: bad-request', async () => {
      expect(condition(await ask(desk, rosterSet(xml('item', { jid: 'a@b@c' }))))).toBe('bad-request');
    });
    test('removing what is not in the roster: item-not-found', async () => {
      expect(condition(await ask(desk, rosterSet(xml('item', { jid: 'nobody@localhost', subscription: 'remove' }))))).toBe('item-not-found');
    });
    test("someone else's roster: forbidden", async () => {
      const reply = await ask(desk, xml('iq', { type: 'get', to: 'bob@localhost' }, xml('query', { xmlns: ROSTER })));
      expect(reply.getChild('error')!.toString()).toBe(`<error type="auth"><forbidden xmlns="${STANZAS}"/><text xmlns="${STANZAS}" xml:lang="en">only your own roster</text></error>`);
    });
    test('none of the failed sets changed the roster', async () => {
      const items = (await ask(desk, rosterGet())).getChild('query')!.getChildren('item');
      expect(items.map((i: any) => i.attrs.jid)).toEqual(['bob@localhost']);
    });
  });
});
