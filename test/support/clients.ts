import { WebSocket } from 'ws';
import type { Element } from '@xmpp/xml';

// @xmpp/client and Strophe.js look for a browser WebSocket; on Node 20 there is none.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const { client, xml } = await import('@xmpp/client');
const Strophe = await import('strophe.js');
Strophe.Strophe.setLogLevel(Strophe.Strophe.LogLevel.FATAL);

export { xml };
export type XmppJsClient = ReturnType<typeof client>;

/** An xmpp.js client (it authenticates with SCRAM-SHA-1) that records every stanza it receives. */
export async function xmppJs(service: string, username: string, options: { password?: string; resource?: string; domain?: string } = {}) {
  const c = client({ service, domain: options.domain ?? 'localhost', username, password: options.password ?? 'secret', resource: options.resource });
  const received: Element[] = [];
  c.on('stanza', (stanza: Element) => received.push(stanza));
  c.on('error', () => undefined); // failures surface through start() and the assertions
  const mechanisms: string[] = [];
  c.on('nonza', (nonza: Element) => {
    if (nonza.is('auth', 'urn:ietf:params:xml:ns:xmpp-sasl')) mechanisms.push(nonza.attrs.mechanism);
  });
  c.on('send', (element: Element) => {
    if (element.is('auth', 'urn:ietf:params:xml:ns:xmpp-sasl')) mechanisms.push(element.attrs.mechanism);
  });
  const jid = await c.start();
  return { client: c, jid: jid.toString(), received, mechanisms, next: (match: (s: Element) => boolean, ms = 5000) => waitFor(received, match, ms) };
}

/** Waits until a recorded stanza matches. */
export async function waitFor(received: Element[], match: (s: Element) => boolean, ms = 5000): Promise<Element> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = received.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching stanza within ${ms} ms; got:\n${received.map(String).join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Strophe.js connection (it prefers SCRAM-SHA-256 among what we offer), connected and bound. */
export async function strophe(service: string, jid: string, password = 'secret') {
  const connection = new Strophe.Strophe.Connection(service, { protocol: 'ws' } as never);
  const received: globalThis.Element[] = [];
  let mechanism = '';
  connection.xmlOutput = (el: globalThis.Element) => {
    if (el.nodeName === 'auth') mechanism = el.getAttribute('mechanism') ?? '';
  };
  await new Promise<void>((resolve, reject) => {
    connection.connect(jid, password, (status: number, condition?: string) => {
      if (status === Strophe.Strophe.Status.CONNECTED) resolve();
      if (status === Strophe.Strophe.Status.AUTHFAIL || status === Strophe.Strophe.Status.CONNFAIL) {
        reject(new Error(`strophe: status ${status} ${condition ?? ''}`));
      }
    });
  });
  connection.addHandler((stanza: globalThis.Element) => {
    received.push(stanza);
    return true;
  }, null as never, null as never);
  return { connection, jid: connection.jid, received, mechanism: () => mechanism, $msg: Strophe.$msg, $pres: Strophe.$pres, $iq: Strophe.$iq };
}

export type XmppJs = Awaited<ReturnType<typeof xmppJs>>;

/** Sends an IQ and waits for its answer (result or error) by id. */
export async function ask(c: XmppJs, iq: Element): Promise<Element> {
  iq.attrs.id ??= `q${Math.random().toString(36).slice(2, 10)}`;
  await c.client.send(iq);
  return c.next((s) => s.is('iq') && s.attrs.id === iq.attrs.id && (s.attrs.type === 'result' || s.attrs.type === 'error'));
}

/** Waits for a stanza that matches among those received from index `since` on. */
export function after(c: XmppJs, since: number, match: (s: Element) => boolean, ms = 5000): Promise<Element> {
  return waitFor(c.received, (s) => c.received.indexOf(s) >= since && match(s), ms);
}
