import { once } from 'node:events';
import { WebSocket } from 'ws';

export const OPEN = '<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>';
export const CLOSE = '<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>';
export const streamError = (condition: string) =>
  `<stream:error xmlns:stream="http://etherx.jabber.org/streams"><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>`;
export const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A bare RFC 7395 client: frames in, frames out, nothing hidden. */
export async function rawClient(url: string, protocols: string[] = ['xmpp']) {
  const ws = new WebSocket(url, protocols);
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await once(ws, 'open');
  return {
    ws,
    frames,
    closed,
    send: (frame: string) => ws.send(frame),
    /** Waits for a frame that matches, searching from the start. */
    async waitFor(match: (frame: string) => boolean, ms = 5000): Promise<string> {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = frames.find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no matching frame within ${ms} ms; got:\n${frames.join('\n')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    /** Waits until at least n frames have arrived and returns them. */
    async count(n: number, ms = 5000): Promise<string[]> {
      const deadline = Date.now() + ms;
      while (frames.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} frames, got:\n${frames.join('\n')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return frames;
    },
  };
}

export type RawClient = Awaited<ReturnType<typeof rawClient>>;

/** Opens, authenticates with PLAIN, restarts and binds `resource`: a stream ready for stanzas. */
export async function boundRawClient(url: string, user: string, resource: string, password = 'secret'): Promise<RawClient> {
  const c = await rawClient(url);
  c.send(OPEN);
  await c.waitFor((f) => f.includes('<mechanisms'));
  c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">${b64(`\0${user}\0${password}`)}</auth>`);
  await c.waitFor((f) => f.startsWith('<success'));
  c.send(OPEN);
  await c.waitFor((f) => f.includes('<bind'));
  c.send(`<iq xmlns="jabber:client" type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>${resource}</resource></bind></iq>`);
  await c.waitFor((f) => f.includes('id="bind"'));
  c.frames.length = 0;
  return c;
}
