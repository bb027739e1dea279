import { X509Certificate } from 'node:crypto';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';

let bundled: X509Certificate[] | undefined;

/**
 * The chain check OpenSSL made, redone without the purpose check, for a peer whose only fault is a certificate
 * without the clientAuth extended key usage (OpenSSL's INVALID_PURPOSE). Server certificates increasingly lack it
 * (public CAs are dropping clientAuth), yet a server presents that same certificate when it connects to us; Prosody
 * likewise ignores the purpose on s2s. Every link's signature and validity period and the anchor are checked here,
 * since OpenSSL stops at the first error and may not have checked them.
 */
export function chainValidIgnoringPurpose(socket: TLSSocket, extraCa: string[] = []): boolean {
  // Typed as Error, but Node sets the OpenSSL code string.
  const error = socket.authorizationError as unknown;
  const code = typeof error === 'string' ? error : (error as { code?: string } | undefined)?.code;
  if (code !== 'INVALID_PURPOSE') return false;
  const chain: X509Certificate[] = [];
  let current: PeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    const next: PeerCertificate | undefined = (current as tls.DetailedPeerCertificate).issuerCertificate;
    current = next && next !== current ? next : undefined;
  }
  if (chain.length === 0) return false;
  const now = Date.now();
  for (const cert of chain) {
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) return false;
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    const [child, parent] = [chain[i]!, chain[i + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey) || !parent.ca) return false;
  }
  const anchors = [...(bundled ??= tls.rootCertificates.map((pem) => new X509Certificate(pem))), ...extraCa.map((pem) => new X509Certificate(pem))];
  const top = chain.at(-1)!;
  return anchors.some((anchor) => anchor.fingerprint256 === top.fingerprint256 || (top.checkIssued(anchor) && top.verify(anchor.publicKey)));
}
