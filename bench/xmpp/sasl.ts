import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** The SASL mechanisms the load generator speaks; `auto` takes PLAIN when offered, else the strongest SCRAM. */
export type Mechanism = 'PLAIN' | 'SCRAM-SHA-1' | 'SCRAM-SHA-256';
export type MechanismChoice = Mechanism | 'auto';

export function chooseMechanism(choice: MechanismChoice, offered: string[]): Mechanism {
  if (choice !== 'auto') {
    if (!offered.includes(choice)) throw new Error(`the server does not offer ${choice} (offers ${offered.join(', ') || 'nothing'})`);
    return choice;
  }
  const mechanism = (['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-1'] as const).find((m) => offered.includes(m));
  if (!mechanism) throw new Error(`no mechanism in common (server offers ${offered.join(', ') || 'nothing'})`);
  return mechanism;
}

/** RFC 4616: authzid NUL authcid NUL password, with no authzid. Passwords are used as given (no SASLprep). */
export function plainMessage(username: string, password: string): string {
  return `\0${username}\0${password}`;
}

const HASH = { 'SCRAM-SHA-1': ['sha1', 20], 'SCRAM-SHA-256': ['sha256', 32] } as const;

/**
 * The client side of SCRAM (RFC 5802), without channel binding (gs2 header `n,,`). Usage: send `first`,
 * pass the server's challenge to `respond`, send its result, then check the success data with `verify`.
 */
export function scramClient(mechanism: 'SCRAM-SHA-1' | 'SCRAM-SHA-256', username: string, password: string) {
  const [hashName, bytes] = HASH[mechanism];
  const hmac = (key: Buffer, data: string) => createHmac(hashName, key).update(data).digest();
  const nonce = randomBytes(18).toString('base64');
  // RFC 5802 §5.1: ',' and '=' in the username are escaped.
  const firstBare = `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  let serverSignature: Buffer | undefined;
  return {
    first: `n,,${firstBare}`,
    respond(serverFirst: string): string {
      const fields = parseFields(serverFirst);
      const combined = fields.get('r');
      const salt = fields.get('s');
      const iterations = Number(fields.get('i'));
      if (!combined?.startsWith(nonce) || !salt || !Number.isInteger(iterations) || iterations < 1) {
        throw new Error(`bad SCRAM server-first-message: ${serverFirst}`);
      }
      const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), iterations, bytes, hashName);
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash(hashName).update(clientKey).digest();
      const withoutProof = `c=biws,r=${combined}`;
      const authMessage = `${firstBare},${serverFirst},${withoutProof}`;
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
      serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return `${withoutProof},p=${proof.toString('base64')}`;
    },
    /** Checks the server's final message (`v=…`): a server that does not know the password cannot forge it. */
    verify(serverFinal: string): void {
      const given = Buffer.from(parseFields(serverFinal).get('v') ?? '', 'base64');
      if (!serverSignature || given.length !== serverSignature.length || !timingSafeEqual(given, serverSignature)) {
        throw new Error('SCRAM: the server signature does not verify');
      }
    },
  };
}

function parseFields(message: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) fields.set(part[0]!, part.slice(2));
  }
  return fields;
}
