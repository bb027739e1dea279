import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate, testCa } from '../../lib/federation/certificates.ts';

describe('selfSignedCertificate', () => {
  it('has a SAN dNSName per domain, is self-signed and valid from an hour ago for a year', async () => {
    const { cert, key } = await selfSignedCertificate(['a.example', 'b.example']);
    const x509 = new X509Certificate(cert);
    expect(x509.subjectAltName).toBe('DNS:a.example, DNS:b.example');
    expect(x509.checkHost('b.example')).toBe('b.example');
    expect(x509.checkHost('c.example')).toBeUndefined();
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(x509.ca).toBe(false);
    const from = Date.parse(x509.validFrom);
    const to = Date.parse(x509.validTo);
    expect(Date.now() - from).toBeGreaterThan(59 * 60_000);
    expect(to - from).toBeGreaterThanOrEqual(365 * 24 * 3_600_000);
  });
});

describe('testCa', () => {
  it('issues leaf certificates that verify with the CA key and carry the SAN', async () => {
    const ca = await testCa();
    const caCert = new X509Certificate(ca.cert);
    expect(caCert.ca).toBe(true);
    const leaf = await ca.issue(['cirrus.test']);
    const x509 = new X509Certificate(leaf.cert);
    expect(x509.subjectAltName).toBe('DNS:cirrus.test');
    expect(x509.verify(caCert.publicKey)).toBe(true);
    expect(x509.checkIssued(caCert)).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(leaf.key))).toBe(true);
  });

  it('passes OpenSSL PKIX verification both ways in a TLS handshake (server and client certificate)', async () => {
    const ca = await testCa();
    const server = await ca.issue(['a.test']);
    const client = await ca.issue(['b.test']);
    const listener = tls.createServer({ ...server, ca: [ca.cert], requestCert: true, rejectUnauthorized: false });
    const peer = new Promise<{ authorized: boolean; san?: string }>((resolve) =>
      listener.on('secureConnection', (socket) => {
        resolve({ authorized: socket.authorized, san: socket.getPeerX509Certificate()?.subjectAltName });
        socket.end();
      }),
    );
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const { port } = listener.address() as AddressInfo;
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'a.test', ca: [ca.cert], ...client });
    await once(socket, 'secureConnect');
    expect(socket.authorized).toBe(true);
    expect(await peer).toEqual({ authorized: true, san: 'DNS:b.test' });
    socket.destroy();
    listener.close();
  });
});
