import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * X.509 certificates for s2s TLS (RFC 6120 §13.7.1.2: a DNS-ID per domain), built with node:crypto alone:
 * a P-256 key, a DER-encoded certificate (RFC 5280) signed with ECDSA-SHA256. Local runs and tests only;
 * in AWS the certificate comes from Secrets Manager.
 */

export interface Pem {
  cert: string;
  key: string;
}

export interface TestCa extends Pem {
  /** A leaf certificate for `domains` signed by this CA. */
  issue(domains: string[]): Promise<Pem>;
}

const HOUR_MS = 3_600_000;
const YEAR_MS = 365 * 24 * HOUR_MS;

/** A self-signed certificate valid from an hour ago for a year, with a SAN dNSName for each domain. */
export async function selfSignedCertificate(domains: string[]): Promise<Pem> {
  const keys = newKeyPair();
  const name = distinguishedName(domains[0] ?? 'localhost');
  const cert = certificate({ subject: name, issuer: name, subjectKey: keys.publicKey, signingKey: keys.privateKey, leafFor: domains });
  return { cert, key: pemKey(keys.privateKey) };
}

/** A throw-away certificate authority for tests (SASL EXTERNAL needs a peer certificate valid under PKIX). */
export async function testCa(): Promise<TestCa> {
  const keys = newKeyPair();
  const name = distinguishedName('Cirrus Test CA');
  const cert = certificate({ subject: name, issuer: name, subjectKey: keys.publicKey, signingKey: keys.privateKey });
  return {
    cert,
    key: pemKey(keys.privateKey),
    async issue(domains: string[]): Promise<Pem> {
      const leaf = newKeyPair();
      const leafCert = certificate({
        subject: distinguishedName(domains[0] ?? 'localhost'),
        issuer: name,
        subjectKey: leaf.publicKey,
        signingKey: keys.privateKey,
        issuerKey: keys.publicKey,
        leafFor: domains,
      });
      return { cert: leafCert, key: pemKey(leaf.privateKey) };
    },
  };
}

function newKeyPair() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function pemKey(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

interface CertificateSpec {
  subject: Buffer;
  issuer: Buffer;
  subjectKey: KeyObject;
  signingKey: KeyObject;
  /** The issuer's public key when it differs from the subject's (for the authority key identifier). */
  issuerKey?: KeyObject;
  /** Domains of a leaf certificate; absent for a CA. */
  leafFor?: string[];
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function certificate(spec: CertificateSpec): string {
  const now = Date.now();
  const spki = spec.subjectKey.export({ type: 'spki', format: 'der' });
  const signatureAlgorithm = seq(oid(OID.ecdsaWithSha256));
  const leaf = spec.leafFor !== undefined;
  const extensions = [
    extension(OID.basicConstraints, true, leaf ? seq() : seq(tlv(0x01, Buffer.from([0xff])))),
    // Leaf: digitalSignature (bit 0). CA: digitalSignature, keyCertSign (5), cRLSign (6).
    extension(OID.keyUsage, true, leaf ? bitString(Buffer.from([0x80]), 7) : bitString(Buffer.from([0x86]), 1)),
    extension(OID.subjectKeyIdentifier, false, tlv(0x04, keyIdentifier(spec.subjectKey))),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyIdentifier(spec.issuerKey ?? spec.subjectKey)))),
  ];
  if (leaf) {
    // s2s: a server presents its certificate both as TLS server (inbound) and as TLS client (outbound, SASL EXTERNAL).
    extensions.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))));
    extensions.push(extension(OID.subjectAltName, false, seq(...spec.leafFor!.map((d) => tlv(0x82, Buffer.from(d, 'ascii'))))));
  }
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // version v3
    integer(serialNumber()),
    signatureAlgorithm,
    spec.issuer,
    seq(time(new Date(now - HOUR_MS)), time(new Date(now + YEAR_MS))),
    spec.subject,
    spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, spec.signingKey); // DER ECDSA-Sig-Value, as X.509 wants
  const der = seq(tbs, signatureAlgorithm, bitString(signature, 0));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(key: KeyObject): Buffer {
  const spki = key.export({ type: 'spki', format: 'der' });
  // For an EC SPKI the BIT STRING is the last element; its content after the unused-bits byte is the point.
  const point = spki.subarray(spki.length - 65);
  return createHash('sha1').update(point).digest();
}

function distinguishedName(commonName: string): Buffer {
  return seq(tlv(0x31, seq(oid(OID.commonName), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and without a leading zero byte
  return serial;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), tlv(0x01, Buffer.from([0xff])), tlv(0x04, value)) : seq(oid(id), tlv(0x04, value));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

function integer(value: Buffer): Buffer {
  return tlv(0x02, value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

function bitString(bits: Buffer, unusedBits: number): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bits]));
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}
