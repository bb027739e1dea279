import net from 'node:net';
import tls from 'node:tls';
import type { Element } from '@xmpp/xml';
import { errorReply, StanzaError } from '../router/stanza-error.ts';
import { domainOf } from './addressing.ts';
import { resolveCandidates, type SrvResolver } from './dns.ts';
import { InboundStream } from './inbound.ts';
import type { OutboundFailure } from './outbound.ts';
import { OutboundPool, type SendResult } from './pool.ts';
import { ALPN_S2S, secureContext, serverTlsOptions, StartTlsAcceptor } from './tls.ts';

export interface FederationOptions {
  /** Our domains (prepared, lowercase). */
  domains: string[];
  /** PEM; our certificate (valid or self-signed) for our domains; ca: extra trust anchors added to the system CAs. */
  tls: { cert: string; key: string; ca?: string[] };
  /** A peer whose certificate fails PKIX may still authenticate by dialback (XEP-0220, XEP-0344). */
  allowDialbackWithInvalidCert: boolean;
  /** XEP-0185 key generation secret; identical on every task. */
  dialbackSecret: string;
  /** Static routes: bypass DNS for these domains. */
  routes?: Record<string, { host: string; port: number }>;
  /** Largest first-level element accepted from a peer (default 64 KiB). */
  maxStanzaBytes?: number;
  /** A stream with no traffic for this long is closed (default 5 min). */
  idleTimeoutMs?: number;
  /** How long a stanza may wait for a stream before it bounces (default 5 min). */
  retryWindowMs?: number;
  /** TCP/TLS connect timeout per address (default 10 s); negotiation may take three times as long. */
  connectTimeoutMs?: number;
  /** Whitespace keepalive period on outbound streams (default 60 s, at most half the idle timeout). */
  keepaliveIntervalMs?: number;
  /** For tests: SRV lookups. */
  resolver?: SrvResolver;
  /** Structured log lines (default: JSON on stdout). */
  log?: (entry: Record<string, unknown>) => void;
}

export interface FederationHooks {
  /** An inbound stanza whose `from` domain the peer authenticated and whose `to` is ours: route it. Also receives bounces. */
  deliver(stanza: Element): Promise<void>;
}

export interface Federation {
  listen(o: { host: string; port: number; directTlsPort?: number }): Promise<{ port: number; directTlsPort?: number }>;
  /**
   * A stanza from one of our domains to a remote domain. Resolves once written on an authenticated stream ('sent'),
   * or once undeliverable after the retry window and an error bounced to the sender through hooks.deliver
   * ('bounced'; never for error stanzas, and presence is not bounced: 'dropped'). Never rejects for network
   * reasons; rejects only when the federation is closed before the stanza could go (it stays queued upstream).
   */
  send(stanza: Element): Promise<SendResult>;
  /** Open streams, for health/metrics. */
  stats(): { inbound: number; outbound: number };
  close(): Promise<void>;
}

export const DEFAULTS = {
  maxStanzaBytes: 64 * 1024,
  idleTimeoutMs: 5 * 60_000,
  retryWindowMs: 5 * 60_000,
  connectTimeoutMs: 10_000,
  keepaliveIntervalMs: 60_000,
};

/** Server-to-server XMPP (RFC 6120, XEP-0220, XEP-0178, XEP-0368): listeners for peers, streams to peers. */
export function createFederation(options: FederationOptions, hooks: FederationHooks): Federation {
  const domains = new Set(options.domains.map((d) => d.toLowerCase()));
  const log = options.log ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry)));
  const context = secureContext(options.tls);
  const acceptor = new StartTlsAcceptor(options.tls);
  const maxStanzaBytes = options.maxStanzaBytes ?? DEFAULTS.maxStanzaBytes;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
  const routes = Object.fromEntries(Object.entries(options.routes ?? {}).map(([d, r]) => [d.toLowerCase(), r]));

  const pool = new OutboundPool({
    retryWindowMs: options.retryWindowMs ?? DEFAULTS.retryWindowMs,
    stream: {
      secureContext: context,
      allowDialbackWithInvalidCert: options.allowDialbackWithInvalidCert,
      dialbackSecret: options.dialbackSecret,
      maxStanzaBytes,
      idleTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      keepaliveIntervalMs: Math.min(options.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs, idleTimeoutMs / 2),
      resolve: (domain) => resolveCandidates(domain, routes, options.resolver),
      log,
    },
    undeliverable: (stanza, failure) => bounce(stanza, failure),
  });

  /** RFC 6120 §8.3.3.16/17: the sender learns, from the remote address, that it could not be reached. */
  async function bounce(stanza: Element, failure: OutboundFailure): Promise<SendResult> {
    log({ level: 'info', msg: 's2s stanza undeliverable', to: stanza.attrs.to, condition: failure.condition, reason: failure.message });
    if (stanza.name === 'presence') return 'dropped';
    const reply = errorReply(stanza, new StanzaError(failure.condition));
    if (!reply) return 'dropped'; // an error stanza is never answered with an error
    try {
      await hooks.deliver(reply);
    } catch (error) {
      log({ level: 'error', msg: 's2s bounce delivery failed', error: String((error as Error).stack ?? error) });
    }
    return 'bounced';
  }

  /**
   * An inbound stanza the core could not take (its store failing past the SDK's retries) is not dropped silently:
   * the sender gets internal-server-error (RFC 6120 §8.3.3.6), except for presence and errors, like bounces.
   */
  async function deliverInbound(stanza: Element): Promise<void> {
    try {
      await hooks.deliver(stanza);
    } catch (error) {
      const reply = stanza.name === 'presence' ? undefined : errorReply(stanza, new StanzaError('internal-server-error'));
      const [ours, theirs] = [domainOf(reply?.attrs.from), domainOf(reply?.attrs.to)];
      if (reply && ours && theirs) pool.send(ours, theirs, reply).catch(() => undefined); // closing: nothing more to do
      throw error;
    }
  }

  const inbound = new Set<InboundStream>();
  const servers: net.Server[] = [];
  const accept = (socket: net.Socket, directTls: boolean) => {
    socket.on('error', () => undefined); // reported through the stream; never an uncaught exception
    const stream = new InboundStream(
      socket,
      {
        domains,
        acceptTls: (raw) => acceptor.accept(raw),
        extraCa: options.tls.ca,
        allowDialbackWithInvalidCert: options.allowDialbackWithInvalidCert,
        dialbackSecret: options.dialbackSecret,
        maxStanzaBytes,
        idleTimeoutMs,
        verify: (receiving, originating, streamId, key) => pool.verify(receiving, originating, streamId, key),
        deliver: (stanza) => deliverInbound(stanza),
        log,
      },
      directTls,
      (s) => inbound.delete(s),
    );
    inbound.add(stream);
  };

  const listenOn = (server: net.Server, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });

  return {
    async listen({ host, port, directTlsPort }) {
      const plain = net.createServer((socket) => accept(socket, false));
      servers.push(plain);
      const result: { port: number; directTlsPort?: number } = { port: await listenOn(plain, host, port) };
      if (directTlsPort !== undefined) {
        // XEP-0368: TLS from the first byte; same certificate request policy as after STARTTLS.
        const direct = tls.createServer(
          { ...serverTlsOptions(options.tls), ALPNProtocols: ALPN_S2S },
          (socket) => accept(socket, true),
        );
        direct.on('tlsClientError', () => undefined); // a failed handshake concerns that peer only
        servers.push(direct);
        result.directTlsPort = await listenOn(direct, host, directTlsPort);
      }
      return result;
    },

    async send(stanza) {
      const fromDomain = domainOf(stanza.attrs.from);
      const toDomain = domainOf(stanza.attrs.to);
      if (!fromDomain || !domains.has(fromDomain) || !toDomain || domains.has(toDomain)) {
        // A caller's mistake, not the network's: said loudly, never sent under a domain we do not serve.
        log({ level: 'error', msg: 's2s send refused: from must be ours and to remote', from: stanza.attrs.from, to: stanza.attrs.to });
        return 'dropped';
      }
      return pool.send(fromDomain, toDomain, stanza);
    },

    stats() {
      return { inbound: inbound.size, outbound: pool.openStreams };
    },

    async close() {
      await pool.close();
      for (const stream of inbound) stream.close();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      servers.length = 0;
    },
  };
}
