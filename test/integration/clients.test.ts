import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { strophe, waitFor, xml, xmppJs } from '../support/clients.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';

let domain: TestDomain;
beforeAll(async () => {
  domain = await startTestDomain();
  await domain.addUser('alice@localhost');
  await domain.addUser('bob@localhost');
});
afterAll(() => domain?.stop());

describe('real clients on the local runtime', () => {
  test('xmpp.js logs in with SCRAM-SHA-1 and Strophe.js with SCRAM-SHA-256, and they chat both ways', async () => {
    const alice = await xmppJs(domain.url, 'alice', { resource: 'laptop' });
    const bob = await strophe(domain.url, 'bob@localhost/phone');
    try {
      expect(alice.jid).toBe('alice@localhost/laptop');
      expect(alice.mechanisms).toContain('SCRAM-SHA-1');
      expect(bob.jid).toBe('bob@localhost/phone');
      expect(bob.mechanism()).toBe('SCRAM-SHA-256');

      // Full JID to full JID.
      await alice.client.send(xml('message', { to: 'bob@localhost/phone', type: 'chat', id: 'm1' }, xml('body', {}, 'hi bob')));
      const atBob = await waitFor(bob.received as never, (s: any) => s.nodeName === 'message' && s.getAttribute('id') === 'm1');
      expect((atBob as any).getAttribute('from')).toBe('alice@localhost/laptop');
      expect((atBob as any).getElementsByTagName('body')[0].textContent).toBe('hi bob');

      // Bare JID: delivered to alice's available resource once she has sent presence.
      await alice.client.send(xml('presence'));
      await alice.next((s) => s.is('presence') && s.attrs.from === 'alice@localhost/laptop');
      bob.connection.send(bob.$msg({ to: 'alice@localhost', type: 'chat', id: 'm2' }).c('body').t('hi alice'));
      const atAlice = await alice.next((s) => s.is('message') && s.attrs.id === 'm2');
      expect(atAlice.attrs.from).toBe('bob@localhost/phone');
      expect(atAlice.getChildText('body')).toBe('hi alice');
    } finally {
      await alice.client.stop();
      bob.connection.disconnect();
    }
  });

  test('a wrong password is refused to both clients', async () => {
    await expect(xmppJs(domain.url, 'alice', { password: 'wrong' })).rejects.toThrow(/not-authorized/);
    await expect(strophe(domain.url, 'bob@localhost/x', 'wrong')).rejects.toThrow(/status 4/);
  });
});
