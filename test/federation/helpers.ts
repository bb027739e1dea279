import net from 'node:net';
import tls from 'node:tls';
import xml, { type Element } from '@xmpp/xml';
import { createFederation, type Federation, type FederationOptions } from '../../lib/federation/federation.ts';

export interface Peer {
  domain: string;
  federation: Federation;
  port: number;
  delivered: Element[];
  logs: Record<string, unknown>[];
}

/** A port free right now on loopback, so two instances can have static routes to each other before either listens. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A federation instance on loopback that records what it delivers; listens on `port` unless it is undefined. */
export async function startPeer(
  domain: string,
  options: Partial<FederationOptions> & Pick<FederationOptions, 'tls'>,
  port: number | undefined = 0,
  /** Makes the core refuse a stanza, as a failing store would. */
  refuse: (stanza: Element) => boolean = () => false,
): Promise<Peer> {
  const delivered: Element[] = [];
  const logs: Record<string, unknown>[] = [];
  const federation = createFederation(
    {
      domains: [domain],
      allowDialbackWithInvalidCert: true,
      dialbackSecret: `secret of ${domain}`,
      retryWindowMs: 2000,
      connectTimeoutMs: 2000,
      log: (entry) => logs.push(entry),
      ...options,
    },
    {
      async deliver(stanza) {
        if (refuse(stanza)) throw new Error('the store is down');
        delivered.push(stanza);
      },
    },
  );
  const bound = port === undefined ? 0 : (await federation.listen({ host: '127.0.0.1', port })).port;
  return { domain, federation, port: bound, delivered, logs };
}

export function message(from: string, to: string, body: string, id = 'm1'): Element {
  return xml('message', { xmlns: 'jabber:client', from, to, type: 'chat', id }, xml('body', {}, body));
}

export async function waitFor<T>(probe: () => T | undefined | false, what: string, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw peer: what it receives, as text, and a way to write. */
export interface RawPeer {
  received(): string;
  write(text: string): void;
  waitFor(pattern: RegExp | string, ms?: number): Promise<string>;
  closed: Promise<void>;
  startTls(options?: tls.ConnectionOptions): Promise<tls.TLSSocket>;
  socket: net.Socket | tls.TLSSocket;
}

export async function rawConnect(port: number): Promise<RawPeer> {
  let socket: net.Socket | tls.TLSSocket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const listen = (s: net.Socket | tls.TLSSocket) => {
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => (text += chunk));
    s.on('close', () => resolveClosed());
    s.on('error', () => undefined);
  };
  listen(socket);
  const peer: RawPeer = {
    received: () => text,
    write: (t) => socket.write(t),
    async waitFor(pattern, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms; got:\n${text}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    closed,
    async startTls(options = {}) {
      const raw = socket;
      raw.removeAllListeners('data');
      raw.removeAllListeners('close');
      const secure = tls.connect({ socket: raw, rejectUnauthorized: false, ...options });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      text = '';
      listen(secure);
      socket = secure;
      peer.socket = secure;
      return secure;
    },
    socket,
  };
  return peer;
}

export const HEADER = (from: string | undefined, to: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' version='1.0'${from ? ` from='${from}'` : ''} to='${to}'>`;
