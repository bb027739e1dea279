import net, { type Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import xml, { type Element } from '@xmpp/xml';
import { dialbackElement, dialbackKey, outcomeOf, type DialbackOutcome } from './dialback.ts';
import type { Candidate } from './dns.ts';
import { S2S_NS } from './namespaces.ts';
import { externalAuth } from './sasl-external.ts';
import type { StreamHeader } from './stream-parser.ts';
import { certificateProblem, certificateValidFor, connected, connectTls } from './tls.ts';
import { streamHeader, XmlStream } from './xml-stream.ts';

export interface OutboundContext {
  local: string;
  remote: string;
  secureContext: SecureContext;
  allowDialbackWithInvalidCert: boolean;
  dialbackSecret: string;
  maxStanzaBytes: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  resolve(domain: string): Promise<Candidate[]>;
  log(entry: Record<string, unknown>): void;
}

/** Why a stream could not be had, as the stanza error its stanzas bounce with (RFC 6120 §8.3.3.16, §8.3.3.17). */
export class OutboundFailure extends Error {
  constructor(
    readonly condition: 'remote-server-not-found' | 'remote-server-timeout',
    message: string,
  ) {
    super(message);
  }
}

type Phase = 'connecting' | 'starttls' | 'features' | 'sasl' | 'dialback' | 'ready' | 'closed';

/**
 * One stream from one of our domains to a remote domain (RFC 6120 §4, initiating entity): resolve, connect,
 * STARTTLS (or direct TLS), then SASL EXTERNAL when offered, else dialback (XEP-0220 §2.1.1). It also carries
 * <db:verify/> requests for the receiving-server role (§2.1.2) once it is secure.
 */
export class OutboundStream {
  /** Resolves when stanzas may be sent; rejects with OutboundFailure. */
  readonly ready: Promise<void>;
  authentication: 'sasl-external' | 'dialback' | undefined;
  private phase: Phase = 'connecting';
  private stream: XmlStream | undefined;
  private secure = false;
  private peerCertValid = false;
  private peerStreamId = '';
  private peerDeclaresDialback = false;
  private peerOffersDialback = false;
  private triedExternal = false;
  private connected = false;
  private settle!: { resolve: () => void; reject: (error: OutboundFailure) => void };
  private readonly verifications = new Map<string, { request: Element; sent: boolean; resolve: (o: DialbackOutcome) => void }>();
  private negotiationTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private lastUse = Date.now();

  constructor(
    private readonly ctx: OutboundContext,
    private readonly onClosed: (stream: OutboundStream) => void,
  ) {
    this.ready = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.ready.catch(() => undefined); // observed through the pool; never an unhandled rejection
    this.run().catch((error: unknown) => {
      this.ctx.log({ level: 'error', msg: 's2s outbound stream crashed', to: ctx.remote, error: String((error as Error).stack ?? error) });
      this.abort('remote-server-timeout', 'internal error');
    });
  }

  get isReady(): boolean {
    return this.phase === 'ready';
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  send(stanza: Element): void {
    this.lastUse = Date.now();
    // The stream's default namespace is jabber:server (RFC 6120 §4.8.3); the stanza takes it.
    const attrs = { ...stanza.attrs };
    delete attrs.xmlns;
    const copy = xml(stanza.name, attrs);
    copy.children = stanza.children;
    this.stream!.send(copy);
  }

  /** XEP-0220 §2.1.2: is `key` the one `originating` (the remote domain) generated for our stream `streamId`? */
  verify(receiving: string, streamId: string, key: string): Promise<DialbackOutcome> {
    const id = `${receiving} ${this.ctx.remote} ${streamId}`;
    const existing = this.verifications.get(id);
    if (existing) existing.resolve({ error: 'remote-server-timeout' }); // superseded by the newer request
    return new Promise((resolve) => {
      const request = dialbackElement('verify', { from: receiving, to: this.ctx.remote, id: streamId }, { key });
      this.verifications.set(id, { request, sent: false, resolve });
      this.flushVerifications();
    });
  }

  close(): void {
    if (this.stream) this.stream.close();
    else this.finish(new OutboundFailure('remote-server-timeout', 'closed'));
  }

  private async run() {
    let candidates: Candidate[];
    try {
      candidates = await this.ctx.resolve(this.ctx.remote);
    } catch (error) {
      return this.finish(new OutboundFailure('remote-server-not-found', `DNS: ${(error as Error).message}`));
    }
    const errors: string[] = [];
    for (const candidate of candidates) {
      if (this.isClosed) return;
      try {
        const socket = await this.connect(candidate);
        if (this.isClosed) {
          socket.destroy();
          return;
        }
        this.connected = true;
        this.secure = candidate.directTls;
        if (this.secure) this.peerCertValid = certificateValidFor(socket as TLSSocket, this.ctx.remote);
        this.begin(socket);
        return;
      } catch (error) {
        errors.push(`${candidate.host}:${candidate.port}: ${(error as Error).message}`);
      }
    }
    this.ctx.log({ level: 'warn', msg: 's2s outbound connect failed', from: this.ctx.local, to: this.ctx.remote, errors });
    this.finish(new OutboundFailure('remote-server-not-found', errors.length ? errors.join('; ') : 'no address for the domain'));
  }

  private connect(candidate: Candidate): Promise<Socket | TLSSocket> {
    const timeout = this.ctx.connectTimeoutMs;
    if (candidate.directTls) return connectTls({ host: candidate.host, port: candidate.port }, this.ctx.remote, this.ctx.secureContext, timeout);
    return connected(net.connect({ host: candidate.host, port: candidate.port }), 'connect', timeout, 'connect timed out');
  }

  private begin(socket: Socket | TLSSocket) {
    this.phase = 'features';
    // Negotiation has its own deadline: a peer that accepts the connection and then says nothing is a timeout.
    this.negotiationTimer = setTimeout(() => this.abort('remote-server-timeout', 'negotiation timed out'), this.ctx.connectTimeoutMs * 3);
    this.stream = new XmlStream(socket, { maxStanzaBytes: this.ctx.maxStanzaBytes, idleTimeoutMs: this.ctx.idleTimeoutMs }, {
      open: (header) => this.open(header),
      element: (element, uri) => this.element(element, uri),
      closed: (error) => this.finish(new OutboundFailure('remote-server-timeout', error?.message ?? 'stream closed by the peer')),
    });
    this.sendHeader();
  }

  private sendHeader() {
    this.stream!.send(streamHeader({ from: this.ctx.local, to: this.ctx.remote }));
  }

  private open(header: StreamHeader) {
    if (header.declarations[''] !== S2S_NS.server) return this.abort('remote-server-timeout', 'peer stream is not jabber:server', 'invalid-namespace');
    this.peerStreamId = header.attrs.id ?? '';
    this.peerDeclaresDialback = header.declarations.db === S2S_NS.dialback;
  }

  private element(element: Element, uri: string) {
    const local = element.name.includes(':') ? element.name.slice(element.name.indexOf(':') + 1) : element.name;
    if (uri === S2S_NS.stream && local === 'features') return this.features(element);
    if (uri === S2S_NS.stream && local === 'error') {
      this.ctx.log({ level: 'warn', msg: 's2s peer sent a stream error', to: this.ctx.remote, error: element.toString() });
      return this.stream!.close(new Error(`stream error: ${element.children.map((c) => (typeof c === 'string' ? c : c.name)).join(' ')}`));
    }
    if (uri === S2S_NS.tls && local === 'proceed' && this.phase === 'starttls') return void this.upgrade();
    if (uri === S2S_NS.tls && local === 'failure') return this.abort('remote-server-timeout', 'STARTTLS failed');
    if (uri === S2S_NS.sasl && local === 'success' && this.phase === 'sasl') {
      this.authentication = 'sasl-external';
      this.phase = 'features';
      this.stream!.restart(); // RFC 6120 §6.4.6
      return this.sendHeader();
    }
    if (uri === S2S_NS.sasl && local === 'failure' && this.phase === 'sasl') {
      this.ctx.log({ level: 'info', msg: 's2s SASL EXTERNAL refused by peer; trying dialback', to: this.ctx.remote, failure: element.toString() });
      this.phase = 'features';
      return this.authenticate(false);
    }
    if (uri === S2S_NS.dialback && local === 'result') return this.dialbackAnswer(element);
    if (uri === S2S_NS.dialback && local === 'verify') return this.verifyAnswer(element);
    // Streams are one-way (XEP-0220 §2.3): a stanza here is not ours to route.
    this.ctx.log({ level: 'warn', msg: 's2s unexpected element on an outbound stream', to: this.ctx.remote, element: element.name });
  }

  private features(features: Element) {
    if (this.phase === 'ready') return;
    if (!this.secure) {
      if (features.getChild('starttls', S2S_NS.tls)) {
        this.phase = 'starttls';
        return this.stream!.send(xml('starttls', { xmlns: S2S_NS.tls }));
      }
      // We never send stanzas in the clear.
      return this.abort('remote-server-timeout', 'peer does not offer STARTTLS', 'policy-violation');
    }
    if (this.authentication === 'sasl-external') return this.becomeReady();
    if (!this.peerCertValid && !this.ctx.allowDialbackWithInvalidCert) {
      return this.abort('remote-server-timeout', `peer certificate not valid for ${this.ctx.remote}: ${certificateProblem(this.stream!.socket as TLSSocket, this.ctx.remote)}`, 'policy-violation');
    }
    const mechanisms = features.getChild('mechanisms', S2S_NS.sasl);
    const external = mechanisms?.getChildren('mechanism').some((m) => m.text().trim() === 'EXTERNAL') ?? false;
    const dialback = Boolean(features.getChild('dialback', S2S_NS.dialbackFeature)) || this.peerDeclaresDialback;
    this.peerOffersDialback = dialback;
    this.authenticate(external);
  }

  private authenticate(external: boolean) {
    if (external && !this.triedExternal) {
      this.triedExternal = true;
      this.phase = 'sasl';
      return this.stream!.send(externalAuth(this.ctx.local));
    }
    this.flushVerifications();
    if (!this.peerOffersDialback) return this.abort('remote-server-timeout', 'no authentication method in common', 'undefined-condition');
    this.phase = 'dialback';
    const key = dialbackKey(this.ctx.dialbackSecret, this.ctx.remote, this.ctx.local, this.peerStreamId);
    this.stream!.send(dialbackElement('result', { from: this.ctx.local, to: this.ctx.remote }, { key }));
  }

  private async upgrade() {
    const socket = this.stream!.release() as Socket;
    try {
      const secure = await connectTls({ socket }, this.ctx.remote, this.ctx.secureContext, this.ctx.connectTimeoutMs);
      this.secure = true;
      this.peerCertValid = certificateValidFor(secure, this.ctx.remote);
      this.phase = 'features';
      this.stream!.restart(secure); // RFC 6120 §5.4.3.3
      this.sendHeader();
    } catch (error) {
      this.stream!.destroy(error as Error);
    }
  }

  private dialbackAnswer(answer: Element) {
    // XEP-0220 §2.1.1 / §3.1: only an answer to the request we made on this stream counts.
    if (this.phase !== 'dialback' || answer.attrs.from?.toLowerCase() !== this.ctx.remote || answer.attrs.to?.toLowerCase() !== this.ctx.local) return;
    const outcome = outcomeOf(answer);
    if (outcome === 'valid') {
      this.authentication = 'dialback';
      return this.becomeReady();
    }
    this.abort('remote-server-timeout', `dialback ${typeof outcome === 'string' ? outcome : outcome.error}`);
  }

  private verifyAnswer(answer: Element) {
    const id = `${answer.attrs.to?.toLowerCase()} ${answer.attrs.from?.toLowerCase()} ${answer.attrs.id}`;
    const pending = this.verifications.get(id);
    if (!pending?.sent) return; // unsolicited (XEP-0220 §3.1): dropped
    this.verifications.delete(id);
    pending.resolve(outcomeOf(answer));
  }

  /** db:verify goes out once the stream is secure and not in the middle of SASL. */
  private flushVerifications() {
    if (!this.stream || !this.secure || !['features', 'dialback', 'ready'].includes(this.phase)) return;
    for (const pending of this.verifications.values()) {
      if (pending.sent) continue;
      pending.sent = true;
      this.stream.send(pending.request);
    }
  }

  private becomeReady() {
    clearTimeout(this.negotiationTimer);
    this.phase = 'ready';
    this.lastUse = Date.now();
    this.flushVerifications();
    this.ctx.log({ level: 'info', msg: 's2s outbound stream ready', from: this.ctx.local, to: this.ctx.remote, authentication: this.authentication });
    this.keepaliveTimer = setInterval(() => this.keepalive(), this.ctx.keepaliveIntervalMs);
    this.keepaliveTimer.unref();
    this.settle.resolve();
  }

  /** RFC 6120 §4.6.1: whitespace keeps NATs and the peer's idle timer content; a stream unused for long is closed. */
  private keepalive() {
    if (Date.now() - this.lastUse >= this.ctx.idleTimeoutMs) return this.stream!.close();
    this.stream!.send(' ');
  }

  private abort(condition: OutboundFailure['condition'], reason: string, streamError?: Parameters<XmlStream['fail']>[0]) {
    const failure = new OutboundFailure(condition, reason);
    this.ctx.log({ level: 'warn', msg: 's2s outbound stream failed', from: this.ctx.local, to: this.ctx.remote, reason });
    this.finish(failure);
    if (streamError) this.stream?.fail(streamError, reason);
    else this.stream?.close();
  }

  private finish(failure: OutboundFailure) {
    if (this.phase === 'closed') return;
    const wasReady = this.phase === 'ready';
    this.phase = 'closed';
    clearTimeout(this.negotiationTimer);
    clearInterval(this.keepaliveTimer);
    if (!wasReady) this.settle.reject(this.connected ? failure : new OutboundFailure('remote-server-not-found', failure.message));
    // XEP-0220 §2.1.2: a verification without an answer when the stream goes counts as an error.
    for (const pending of this.verifications.values()) pending.resolve({ error: this.connected ? 'remote-server-timeout' : 'remote-server-not-found' });
    this.verifications.clear();
    this.onClosed(this);
  }
}
