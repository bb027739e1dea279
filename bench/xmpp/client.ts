import { WebSocket } from 'ws';
import { chooseMechanism, plainMessage, scramClient, type MechanismChoice } from './sasl.ts';

/**
 * The load generator's XMPP client: RFC 7395 on `ws`, one element per text frame, nothing else.
 * It logs in (open, SASL, restart, bind, optional legacy session, initial presence) by looking at frames as
 * strings, and afterwards hands every frame to `onFrame` unparsed: the hot loop never builds a DOM.
 * It works with any RFC 7395 server (Cirrus, Prosody's mod_websocket, ejabberd's ejabberd_http_ws).
 */

const FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

export interface LoginOptions {
  /** ws://host:port/xmpp-websocket */
  url: string;
  domain: string;
  /** The localpart. */
  username: string;
  password: string;
  resource: string;
  mechanism?: MechanismChoice;
  /** Send initial presence and wait for the server to echo it back (RFC 6121 §4.2.2). Default true. */
  presence?: boolean;
  timeoutMs?: number;
  /** Every frame after login, and frames that came during login but were not part of it (e.g. contacts' presence). */
  onFrame?: (frame: string, client: XmppWsClient) => void;
}

export interface LoginTimings {
  /** WebSocket handshake ($connect). */
  connectMs: number;
  /** From our `<open/>` to SASL success. */
  authMs: number;
  /** Stream restart and bind. */
  bindMs: number;
  /** Initial presence until its echo. */
  presenceMs: number;
  totalMs: number;
}

export class LoginError extends Error {}

export class XmppWsClient {
  /** Our full JID, as the server bound it. */
  jid = '';
  onFrame?: (frame: string, client: XmppWsClient) => void;
  readonly timings: LoginTimings = { connectMs: 0, authMs: 0, bindMs: 0, presenceMs: 0, totalMs: 0 };
  /** Frames the login sequence consumed or kept aside. */
  private readonly pending: string[] = [];
  /** Steps waiting for a frame (login steps, one at a time; IQ requests after login, possibly several). */
  private waiters: Array<{ match: (frame: string) => boolean; resolve: (frame: string) => void; reject: (error: Error) => void }> = [];
  private closedWith?: string;
  private loggedIn = false;
  private iqCounter = 0;
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.receive(String(data)));
    ws.on('error', () => undefined); // the close that follows says enough
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closedWith = `WebSocket closed (${code}${reason.length ? ` ${reason}` : ''})`;
        for (const waiter of this.waiters.splice(0)) waiter.reject(new LoginError(this.closedWith));
        resolve();
      }),
    );
  }

  /** Connects and logs in; rejects with LoginError (after closing the socket) when any step fails or times out. */
  static async login(options: LoginOptions): Promise<XmppWsClient> {
    const start = performance.now();
    const ws = new WebSocket(options.url, ['xmpp'], { perMessageDeflate: false });
    const client = new XmppWsClient(ws);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => client.fail(`login did not finish within ${timeoutMs} ms`), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('unexpected-response', (_req, res) => reject(new LoginError(`WebSocket upgrade refused: HTTP ${res.statusCode}`)));
        ws.once('close', () => reject(new LoginError(client.closedWith ?? 'WebSocket closed')));
      });
      if (ws.protocol !== 'xmpp') throw new LoginError(`the server did not accept the xmpp subprotocol (got "${ws.protocol}")`);
      let mark = performance.now();
      client.timings.connectMs = mark - start;

      const features = await client.openStream(options.domain);
      const offered = [...features.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]!.trim());
      const mechanism = chooseMechanism(options.mechanism ?? 'auto', offered);
      await client.authenticate(mechanism, options.username, options.password);
      client.timings.authMs = performance.now() - mark;
      mark = performance.now();

      const bound = await client.openStream(options.domain);
      if (!/<bind[\s>/]/.test(bound)) throw new LoginError(`no resource binding offered: ${bound}`);
      client.send(
        `<iq xmlns='jabber:client' type='set' id='bench-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>` +
          `<resource>${escapeXml(options.resource)}</resource></bind></iq>`,
      );
      const bindResult = await client.next((f) => isIqResponse(f, 'bench-bind'), 'the bind result');
      const jid = /<jid>([^<]+)<\/jid>/.exec(bindResult)?.[1];
      if (!jid || attribute(bindResult, 'type') !== 'result') throw new LoginError(`bind failed: ${bindResult}`);
      client.jid = unescapeXml(jid);
      // RFC 3921 sessions: only when the server says they are not optional (RFC 6121 Appendix E).
      if (/<session[\s>/]/.test(bound) && !/<optional\s*\/>/.test(bound)) {
        client.send(`<iq xmlns='jabber:client' type='set' id='bench-session'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
        const session = await client.next((f) => isIqResponse(f, 'bench-session'), 'the session result');
        if (attribute(session, 'type') !== 'result') throw new LoginError(`session failed: ${session}`);
      }
      client.timings.bindMs = performance.now() - mark;
      mark = performance.now();

      if (options.presence ?? true) {
        client.send(`<presence xmlns='jabber:client'/>`);
        await client.next((f) => f.startsWith('<presence') && sameJid(attribute(f, 'from'), client.jid), 'the echo of our initial presence');
        client.timings.presenceMs = performance.now() - mark;
      }
      client.timings.totalMs = performance.now() - start;
      clearTimeout(timer);
      client.loggedIn = true;
      client.onFrame = options.onFrame;
      for (const frame of client.pending.splice(0)) client.onFrame?.(frame, client);
      return client;
    } catch (error) {
      clearTimeout(timer);
      ws.terminate();
      throw error instanceof LoginError ? error : new LoginError((error as Error).message);
    }
  }

  send(frame: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  /** Ends the stream politely (RFC 7395 §3.6) and waits for the socket to close; cut off after `ms`. */
  async close(ms = 5000): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(`<close xmlns='${FRAMING}'/>`);
    const timer = setTimeout(() => this.ws.terminate(), ms);
    await this.closed;
    clearTimeout(timer);
  }

  private async openStream(domain: string): Promise<string> {
    this.send(`<open xmlns='${FRAMING}' to='${escapeXml(domain)}' version='1.0'/>`);
    // The <open/> answer and the features may come as one frame or two; the features are what matter.
    return this.next((f) => /^<(?:stream:)?features[\s>/]/.test(f), 'the stream features');
  }

  private async authenticate(mechanism: string, username: string, password: string): Promise<void> {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    const outcome = (f: string) => /^<(success|failure|challenge)[\s>/]/.test(f);
    if (mechanism === 'PLAIN') {
      this.send(`<auth xmlns='${SASL}' mechanism='PLAIN'>${b64(plainMessage(username, password))}</auth>`);
      const answer = await this.next(outcome, 'the SASL outcome');
      if (!answer.startsWith('<success')) throw new LoginError(`authentication failed for ${username}: ${answer}`);
      return;
    }
    const scram = scramClient(mechanism as 'SCRAM-SHA-1' | 'SCRAM-SHA-256', username, password);
    this.send(`<auth xmlns='${SASL}' mechanism='${mechanism}'>${b64(scram.first)}</auth>`);
    const challenge = await this.next(outcome, 'the SCRAM challenge');
    if (!challenge.startsWith('<challenge')) throw new LoginError(`authentication failed for ${username}: ${challenge}`);
    this.send(`<response xmlns='${SASL}'>${b64(scram.respond(fromB64(textOf(challenge))))}</response>`);
    let answer = await this.next(outcome, 'the SASL outcome');
    // Some servers send the server-final message as a challenge, then an empty success.
    if (answer.startsWith('<challenge')) {
      scram.verify(fromB64(textOf(answer)));
      this.send(`<response xmlns='${SASL}'/>`);
      answer = await this.next(outcome, 'the SASL outcome');
      if (!answer.startsWith('<success')) throw new LoginError(`authentication failed for ${username}: ${answer}`);
      return;
    }
    if (!answer.startsWith('<success')) throw new LoginError(`authentication failed for ${username}: ${answer}`);
    scram.verify(fromB64(textOf(answer)));
  }

  private receive(frame: string): void {
    if (!this.loggedIn) {
      // Logging in: a stream error or close ends it; the current step takes what it waits for; the rest waits.
      if (/^<(?:stream:)?error[\s>/]/.test(frame) || frame.startsWith('<close')) return this.fail(`the server ended the stream: ${frame}`);
      if (!this.take(frame)) this.pending.push(frame);
      return;
    }
    if (!this.take(frame)) this.onFrame?.(frame, this);
  }

  /** Hands a frame to the step waiting for it, if any. */
  private take(frame: string): boolean {
    const index = this.waiters.findIndex((w) => w.match(frame));
    if (index < 0) return false;
    this.waiters.splice(index, 1)[0]!.resolve(frame);
    return true;
  }

  /** Sends an IQ and waits for its result or error (after login; frames that are not the answer go to onFrame). */
  async request(iq: (id: string) => string, what: string, timeoutMs = 30_000): Promise<string> {
    const id = `bench-${++this.iqCounter}`;
    const match = (f: string) => isIqResponse(f, id);
    const answer = this.next(match, what);
    this.send(iq(id));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.match !== match);
        reject(new LoginError(`no answer within ${timeoutMs} ms while waiting for ${what}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private next(match: (frame: string) => boolean, what: string): Promise<string> {
    const index = this.pending.findIndex(match);
    if (index >= 0) return Promise.resolve(this.pending.splice(index, 1)[0]!);
    if (this.closedWith) return Promise.reject(new LoginError(`${this.closedWith} while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve, reject: (error) => reject(new LoginError(`${error.message} while waiting for ${what}`)) });
    });
  }

  private fail(reason: string): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(new LoginError(reason));
    this.ws.terminate();
  }
}

/** An attribute of a frame's first tag; quotes of either kind. */
export function attribute(frame: string, name: string): string | undefined {
  const end = frame.indexOf('>');
  const head = end < 0 ? frame : frame.slice(0, end);
  const match = new RegExp(`\\s${name}=(?:"([^"]*)"|'([^']*)')`).exec(head);
  if (!match) return undefined;
  return unescapeXml(match[1] ?? match[2]!);
}

function isIqResponse(frame: string, id: string): boolean {
  return frame.startsWith('<iq') && attribute(frame, 'id') === id;
}

function sameJid(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

function textOf(frame: string): string {
  const start = frame.indexOf('>');
  const end = frame.lastIndexOf('</');
  return start < 0 || end < start || frame[start - 1] === '/' ? '' : frame.slice(start + 1, end).trim();
}

function fromB64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

export function unescapeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&#(x?)([0-9a-fA-F]+);/g, (_, hex: string, n: string) => String.fromCodePoint(parseInt(n, hex ? 16 : 10)))
    .replace(/&amp;/g, '&');
}
