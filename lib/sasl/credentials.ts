import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SaslprepError, saslprep } from './saslprep.ts';

export type ScramMechanism = 'SCRAM-SHA-1' | 'SCRAM-SHA-256';

/** What the server keeps per mechanism (RFC 5802 §3), base64 strings so it stores as JSON. */
export interface ScramCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

export type Credentials = Record<ScramMechanism, ScramCredential>;

/** RFC 7677 §4: the iteration count SHOULD be at least 4096. */
export const SCRAM_ITERATIONS = 4096;

const SALT_BYTES = 16;

const HASHES = { 'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256' } as const;
const DIGEST_BYTES = { 'SCRAM-SHA-1': 20, 'SCRAM-SHA-256': 32 } as const;

/** H and HMAC of the mechanism's hash (RFC 5802 §2.2), shared with scram.ts. */
export const hash = (mechanism: ScramMechanism, data: Buffer) => createHash(HASHES[mechanism]).update(data).digest();
export const hmac = (mechanism: ScramMechanism, key: Buffer, data: string | Buffer) =>
  createHmac(HASHES[mechanism], key).update(data).digest();

/** SaltedPassword := Hi(password, salt, i), which is PBKDF2 with HMAC-H (RFC 5802 §2.2). */
function clientAndServerKeys(prepared: string, mechanism: ScramMechanism, salt: Buffer, iterations: number) {
  const salted = pbkdf2Sync(prepared, salt, iterations, DIGEST_BYTES[mechanism], HASHES[mechanism]);
  return { clientKey: hmac(mechanism, salted, 'Client Key'), serverKey: hmac(mechanism, salted, 'Server Key') };
}

/** One mechanism's credential from a known salt (the RFC test vectors need this). */
export function deriveCredential(
  password: string,
  mechanism: ScramMechanism,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  const { clientKey, serverKey } = clientAndServerKeys(saslprep(password), mechanism, salt, iterations);
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: hash(mechanism, clientKey).toString('base64'),
    serverKey: serverKey.toString('base64'),
  };
}

/**
 * Credentials for every mechanism, each with its own fresh salt; the password is not kept.
 * Throws SaslprepError for a password SASLprep prohibits, RangeError for one that prepares to nothing.
 */
export function deriveCredentials(password: string, iterations = SCRAM_ITERATIONS): Credentials {
  if (saslprep(password) === '') throw new RangeError('empty password');
  return {
    'SCRAM-SHA-1': deriveCredential(password, 'SCRAM-SHA-1', randomBytes(SALT_BYTES), iterations),
    'SCRAM-SHA-256': deriveCredential(password, 'SCRAM-SHA-256', randomBytes(SALT_BYTES), iterations),
  };
}

/** For PLAIN: whether `password` yields the stored StoredKey. A password SASLprep rejects never matches. */
export function verifyPassword(password: string, credential: ScramCredential, mechanism: ScramMechanism): boolean {
  let prepared: string;
  try {
    prepared = saslprep(password);
  } catch (error) {
    if (error instanceof SaslprepError) return false;
    throw error;
  }
  const salt = Buffer.from(credential.salt, 'base64');
  const { clientKey } = clientAndServerKeys(prepared, mechanism, salt, credential.iterations);
  const computed = hash(mechanism, clientKey);
  const stored = Buffer.from(credential.storedKey, 'base64');
  return stored.length === computed.length && timingSafeEqual(stored, computed);
}
