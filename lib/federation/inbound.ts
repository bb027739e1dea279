import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import xml, { type Element } from '@xmpp/xml';
import { domainOf } from './addressing.ts';
import { dialbackElement, dialbackFeature, keyIsValid, type DialbackOutcome } from './dialback.ts';
import { S2S_NS } from './namespaces.ts';
import { authenticateExternal, externalOffered, mechanismsFeature, saslFailure, saslSuccess } from './sasl-external.ts';
import type { StreamHeader } from './stream-parser.ts';
import { certificateProblem, certificateValidFor, chainTrusted } from './tls.ts';
import { streamHeader, XmlStream } from './xml-stream.ts';

export interface InboundContext {
  domains: ReadonlySet<string>;
  /** Server side of STARTTLS (RFC 6120 §5.4.3.3). */
  acceptTls(socket: Socket): Promise<TLSSocket>;
  /** Extra trust anchors (options.tls.ca), for the chain check redone without the purpose check. */
  extraCa?: string[];
  allowDialbackWithInvalidCert: boolean;
  dialbackSecret: string;
  maxStanzaBytes: number;
  idleTimeoutMs: number;
  /** Receiving-server role (XEP-0220 §2.1.2): ask the authoritative server of `originating` about `key`. */
  verify(receiving: string, originating: string, streamId: string, key: string): Promise<DialbackOutcome>;
  deliver(stanza: Element): Promise<void>;
  log(entry: Record<string, unknown>): void;
}

const STANZAS = new Set(['message', 'presence', 'iq']);
const MAX_PENDING_DIALBACK = 8;

/**
 * One stream a peer server opened to us (RFC 6120 §4, receiving entity): STARTTLS (required unless the
 * connection is direct TLS), then SASL EXTERNAL or dialback for each domain pair, then stanzas whose
 * addresses the authentication covers.
 */
export class InboundStream {
  private readonly stream: XmlStream;
  private tlsSocket: TLSSocket | undefined;
  private streamId = '';
  private headerFrom: string | undefined;
  /** Domain authenticated by SASL EXTERNAL: its certificate proves it, whichever of our domains it writes to. */
  private saslDomain: string | undefined;
  /** Domain pairs authenticated by dialback, as `${from} ${to}` (XEP-0220 §2, multiplexing §4). */
  private readonly pairs = new Set<string>();
  private readonly pending = new Set<string>();
  private deliveries: Promise<void> = Promise.resolve();
  private upgrading = false;

  constructor(
    socket: Socket | TLSSocket,
    private readonly ctx: InboundContext,
    directTls: boolean,
    onClosed: (stream: InboundStream) => void,
  ) {
    if (directTls) this.tlsSocket = socket as TLSSocket;
    this.stream = new XmlStream(socket, { maxStanzaBytes: ctx.maxStanzaBytes, idleTimeoutMs: ctx.idleTimeoutMs }, {
      open: (header) => this.open(header),
      element: (element, uri) => this.element(element, uri),
      closed: (error) => {
        if (error) ctx.log({ level: 'info', msg: 's2s inbound stream ended', from: this.headerFrom, error: error.message });
        onClosed(this);
      },
    });
  }

  get isAuthenticated(): boolean {
    return this.saslDomain !== undefined || this.pairs.size > 0;
  }

  close(): void {
    this.stream.close();
  }

  private open(header: StreamHeader) {
    this.streamId = randomBytes(12).toString('base64url');
    const to = header.attrs.to?.toLowerCase();
    this.headerFrom = header.attrs.from?.toLowerCase() || undefined;
    // RFC 6120 §4.9.1.2: even a stream we refuse gets our header first, so the error is in a stream.
    this.stream.send(streamHeader({ id: this.streamId, from: to && this.ctx.domains.has(to) ? to : undefined, to: this.headerFrom }));
    if (header.declarations[''] !== S2S_NS.server) return this.stream.fail('invalid-namespace', 'expected jabber:server');
    const major = Number((header.attrs.version ?? '0.0').split('.')[0]);
    if (!(major >= 1)) return this.stream.fail('unsupported-version', 'version 1.0 is required');
    if (!to || !this.ctx.domains.has(to)) return this.stream.fail('host-unknown');
    if (this.saslDomain && this.headerFrom && this.headerFrom !== this.saslDomain) return this.stream.fail('invalid-from');
    this.stream.send(this.features());
  }

  private features(): Element {
    const features = xml('stream:features');
    if (!this.tlsSocket) {
      // RFC 6120 §5.3.1: TLS is mandatory here, and said so.
      features.cnode(xml('starttls', { xmlns: S2S_NS.tls }, xml('required')));
      return features;
    }
    if (this.saslDomain) return features; // after SASL (§6.4.6) nothing is left to negotiate
    const external = externalOffered(this.tlsSocket, this.headerFrom, this.ctx.extraCa);
    if (external) features.cnode(mechanismsFeature(true));
    if (this.dialbackAllowed(this.headerFrom)) features.cnode(dialbackFeature());
    return features;
  }

  /** XEP-0220 with XEP-0344 policy: dialback only for a peer whose certificate is good, unless invalid ones are allowed. */
  private dialbackAllowed(domain: string | undefined): boolean {
    if (this.ctx.allowDialbackWithInvalidCert) return true;
    if (!this.tlsSocket) return false;
    return domain ? certificateValidFor(this.tlsSocket, domain, this.ctx.extraCa) : chainTrusted(this.tlsSocket, this.ctx.extraCa);
  }

  private element(element: Element, uri: string) {
    if (this.upgrading) return; // nothing may follow <starttls/> before the handshake (RFC 6120 §5.4.3.3)
    const local = element.name.includes(':') ? element.name.slice(element.name.indexOf(':') + 1) : element.name;
    if (uri === S2S_NS.stream && local === 'error') {
      this.ctx.log({ level: 'warn', msg: 's2s peer sent a stream error', from: this.headerFrom, error: element.toString() });
      return this.stream.close();
    }
    if (uri === S2S_NS.tls && local === 'starttls') return this.startTls();
    if (!this.tlsSocket) return this.stream.fail('policy-violation', 'STARTTLS is required');
    if (uri === S2S_NS.sasl && local === 'auth') return this.saslAuth(element);
    if (uri === S2S_NS.dialback && local === 'result' && !element.attrs.type) {
      this.dialbackResult(element).catch((error: unknown) => {
        this.ctx.log({ level: 'error', msg: 's2s dialback handling failed', error: String((error as Error).stack ?? error) });
        this.stream.fail('internal-server-error');
      });
      return;
    }
    if (uri === S2S_NS.dialback && local === 'verify' && !element.attrs.type) return this.dialbackVerify(element);
    if (uri === S2S_NS.dialback) {
      // XEP-0220 §2.2: typed dialback elements do not come on an inbound stream (without XEP-0288).
      this.ctx.log({ level: 'info', msg: 's2s ignored a typed dialback element on an inbound stream', element: element.toString() });
      return;
    }
    if (STANZAS.has(element.name) && uri === S2S_NS.server) return this.stanza(element);
    if (STANZAS.has(element.name)) return this.stream.fail('invalid-namespace', 'stanzas between servers are in jabber:server');
    return this.stream.fail('unsupported-stanza-type', `<${element.name}/> in ${uri}`);
  }

  private startTls() {
    if (this.tlsSocket) {
      this.stream.send(xml('failure', { xmlns: S2S_NS.tls }));
      return this.stream.close();
    }
    this.upgrading = true;
    this.stream.send(xml('proceed', { xmlns: S2S_NS.tls }));
    const socket = this.stream.release() as Socket;
    this.ctx.acceptTls(socket).then(
      (secure) => {
        this.tlsSocket = secure;
        this.upgrading = false;
        this.stream.restart(secure); // §5.4.3.3: a new stream over TLS; the peer opens it
      },
      (error: Error) => this.stream.destroy(error),
    );
  }

  private saslAuth(auth: Element) {
    if (this.saslDomain) return this.stream.fail('policy-violation', 'already authenticated');
    const result = authenticateExternal(auth, this.tlsSocket!, this.headerFrom, this.ctx.extraCa);
    if ('failure' in result) {
      this.ctx.log({ level: 'info', msg: 's2s SASL EXTERNAL refused', from: this.headerFrom, reason: result.failure, certificate: certificateProblem(this.tlsSocket!, this.headerFrom ?? '', this.ctx.extraCa) });
      // §6.4.5: the peer may try again or fall back to dialback; the stream stays.
      return this.stream.send(saslFailure(result.failure));
    }
    this.saslDomain = result.domain;
    this.stream.send(saslSuccess());
    this.stream.restart(); // §6.4.6: the peer opens a new stream on the same socket
  }

  /** Receiving-server role (XEP-0220 §2.2.1): verify the key with the authoritative server, answer valid or invalid. */
  private async dialbackResult(request: Element) {
    const from = request.attrs.from?.toLowerCase();
    const to = request.attrs.to?.toLowerCase();
    const key = request.text().trim();
    if (!from || !to || !key) return this.stream.fail('improper-addressing', 'db:result needs from, to and a key');
    const answer = (outcome: DialbackOutcome) => dialbackElement('result', { from: to, to: from }, { outcome });
    if (!this.ctx.domains.has(to)) return this.stream.send(answer({ error: 'item-not-found' }));
    // A peer claiming to be one of our own domains is not asked about: we would be dialling ourselves.
    if (this.ctx.domains.has(from)) return this.stream.send(answer({ error: 'not-acceptable' }));
    const pair = `${from} ${to}`;
    if (this.pairs.has(pair)) return this.stream.send(answer('valid'));
    if (this.pending.has(pair)) return;
    // Each pending key costs an outbound connection: a peer may not make us dial the world (XEP-0220 §2.4.2).
    if (this.pending.size >= MAX_PENDING_DIALBACK) return this.stream.send(answer({ error: 'resource-constraint' }));
    if (!this.dialbackAllowed(from)) {
      this.ctx.log({ level: 'info', msg: 's2s dialback refused: certificate not valid', from, certificate: certificateProblem(this.tlsSocket!, from, this.ctx.extraCa) });
      return this.stream.send(answer({ error: 'not-authorized' }));
    }
    this.pending.add(pair);
    let outcome: DialbackOutcome;
    try {
      outcome = await this.ctx.verify(to, from, this.streamId, key);
    } catch {
      outcome = { error: 'remote-server-not-found' };
    }
    this.pending.delete(pair);
    if (!this.stream.isOpen) return;
    this.ctx.log({ level: 'info', msg: 's2s dialback result', from, to, outcome });
    if (outcome === 'valid') this.pairs.add(pair);
    this.stream.send(answer(outcome));
    // §2.2.1: a spoofing attempt ends the stream.
    if (outcome === 'invalid') this.stream.close();
  }

  /** Authoritative-server role (XEP-0220 §2.2.2): stateless, from the shared secret (XEP-0185). */
  private dialbackVerify(request: Element) {
    const from = request.attrs.from?.toLowerCase();
    const to = request.attrs.to?.toLowerCase();
    const id = request.attrs.id;
    if (!from || !to || !id) return this.stream.fail('improper-addressing', 'db:verify needs from, to and id');
    const attrs = { from: to, to: from, id };
    if (!this.ctx.domains.has(to)) return this.stream.send(dialbackElement('verify', attrs, { outcome: { error: 'item-not-found' } }));
    const valid = keyIsValid(this.ctx.dialbackSecret, from, to, id, request.text());
    this.stream.send(dialbackElement('verify', attrs, { outcome: valid ? 'valid' : 'invalid' }));
  }

  /** RFC 6120 §4.9.3 and §8.1.1.2: addresses present, `to` ours, `from` authenticated for it; then in order to the router. */
  private stanza(stanza: Element) {
    if (!this.isAuthenticated) return this.stream.fail('not-authorized', 'authenticate first');
    const { from, to } = stanza.attrs;
    if (!from || !to) return this.stream.fail('improper-addressing', 'stanzas between servers carry from and to');
    const toDomain = domainOf(to);
    if (!toDomain) return this.stream.fail('improper-addressing', 'invalid to');
    if (!this.ctx.domains.has(toDomain)) return this.stream.fail('host-unknown', `${toDomain} is not served here`);
    const fromDomain = domainOf(from);
    if (!fromDomain || !(fromDomain === this.saslDomain || this.pairs.has(`${fromDomain} ${toDomain}`))) {
      return this.stream.fail('invalid-from', `${fromDomain ?? from} is not authenticated on this stream`);
    }
    // The router speaks jabber:client (RFC 6120 §4.8.3: the server maps between the two content namespaces).
    const delivered = xml(stanza.name, { xmlns: S2S_NS.client, ...stanza.attrs });
    delivered.children = stanza.children;
    this.deliveries = this.deliveries.then(() =>
      this.ctx.deliver(delivered).catch((error: unknown) => {
        this.ctx.log({ level: 'error', msg: 's2s delivery failed', from, to, error: String((error as Error).stack ?? error) });
      }),
    );
  }
}
