import type { Socket } from 'node:net';
import tls, { type SecureContext, type TLSSocket } from 'node:tls';
import { chainValidIgnoringPurpose } from './pkix.ts';

/** RFC 7525 / RFC 6120 §13.8: TLS 1.2 or newer; Node's default cipher list is already the modern one. */
export const MIN_TLS_VERSION = 'TLSv1.2';
/** XEP-0368 §3: direct TLS to an s2s port negotiates this ALPN protocol. */
export const ALPN_S2S = ['xmpp-server'];

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Extra trust anchors, added to the system CAs. */
  ca?: string[];
}

/** Trust anchors: Node's bundled CAs, plus the extra ones when given (passing `ca` replaces the defaults). */
function trustAnchors(material: TlsMaterial): string[] | undefined {
  return material.ca?.length ? [...tls.rootCertificates, ...material.ca] : undefined;
}

/** Our certificate, and the trust anchors peers' certificates are checked against: for our outbound side. */
export function secureContext(material: TlsMaterial): SecureContext {
  return tls.createSecureContext({ cert: material.cert, key: material.key, ca: trustAnchors(material), minVersion: MIN_TLS_VERSION });
}

/**
 * What a server asks of a TLS client: its certificate, recorded and never refused at the handshake, since whether
 * it is good decides SASL EXTERNAL vs dialback (XEP-0178, XEP-0220). (tls.Server ignores a `secureContext` option.)
 */
export function serverTlsOptions(material: TlsMaterial): tls.TlsOptions {
  return {
    cert: material.cert,
    key: material.key,
    ca: trustAnchors(material),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: MIN_TLS_VERSION,
    handshakeTimeout: 30_000,
  };
}

/**
 * Server side of STARTTLS on accepted sockets. A tls.Server that never listens is handed each socket after
 * <proceed/>: that is what makes Node check the client's certificate and set `authorized` (a bare TLSSocket
 * would not). Sockets are told apart by their peer address and port, unique among live connections.
 */
export class StartTlsAcceptor {
  private readonly server: tls.Server;
  private readonly pending = new Map<string, { resolve(s: TLSSocket): void; reject(e: Error): void }>();

  constructor(material: TlsMaterial) {
    this.server = tls.createServer(serverTlsOptions(material));
    this.server.on('secureConnection', (secure: TLSSocket) => {
      const key = `${secure.remoteAddress}|${secure.remotePort}`;
      this.pending.get(key)?.resolve(secure);
      this.pending.delete(key);
    });
    this.server.on('tlsClientError', () => undefined); // the raw socket's close settles the promise
  }

  accept(socket: Socket): Promise<TLSSocket> {
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    return new Promise((resolve, reject) => {
      this.pending.set(key, { resolve, reject });
      socket.once('close', () => {
        if (this.pending.get(key)?.resolve === resolve) this.pending.delete(key);
        reject(new Error('connection closed during the TLS handshake'));
      });
      this.server.emit('connection', socket);
    });
  }
}

/** Client side of TLS, on an open socket (STARTTLS) or a new connection (direct TLS, XEP-0368). */
export function connectTls(
  target: { socket: Socket } | { host: string; port: number },
  servername: string,
  context: SecureContext,
  timeoutMs: number,
): Promise<TLSSocket> {
  const secure = tls.connect({
    ...target,
    servername,
    secureContext: context,
    minVersion: MIN_TLS_VERSION,
    ALPNProtocols: 'socket' in target ? undefined : ALPN_S2S,
    // Recorded, not enforced: an invalid certificate may still be accepted through dialback when allowed.
    rejectUnauthorized: false,
  });
  return connected(secure, 'secureConnect', timeoutMs, 'TLS handshake timed out');
}

/** Resolves with the socket once it emits `event`; an error or the deadline destroys it and rejects. */
export function connected<T extends Socket>(socket: T, event: 'connect' | 'secureConnect', timeoutMs: number, timeoutMessage: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(timeoutMessage));
    }, timeoutMs);
    socket.once(event, () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** OpenSSL's verdict, or ours when its only complaint is the purpose (see pkix.ts). */
export function chainTrusted(socket: TLSSocket, extraCa?: string[]): boolean {
  return socket.authorized || chainValidIgnoringPurpose(socket, extraCa);
}

/**
 * Whether the peer's certificate is valid for `domain` under PKIX (RFC 6120 §13.7.2): a chain to a trusted anchor
 * (OpenSSL's verdict, `authorized`) and a DNS-ID matching the domain (RFC 6125, checkServerIdentity).
 */
export function certificateValidFor(socket: TLSSocket, domain: string, extraCa?: string[]): boolean {
  if (!chainTrusted(socket, extraCa)) return false;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return false;
  return tls.checkServerIdentity(domain, cert) === undefined;
}

/** Why the peer's certificate is not acceptable, for logs. */
export function certificateProblem(socket: TLSSocket, domain: string, extraCa?: string[]): string | undefined {
  if (!chainTrusted(socket, extraCa)) return String(socket.authorizationError ?? 'no certificate');
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return 'no certificate';
  return tls.checkServerIdentity(domain, cert)?.message;
}
