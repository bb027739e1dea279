import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { type ScramMechanism, deriveCredential, deriveCredentials } from '../../../lib/sasl/credentials.ts';
import { SaslFailure } from '../../../lib/sasl/failure.ts';
import { type ScramState, parseClientFirst, serverFirst, verifyClientFinal } from '../../../lib/sasl/scram.ts';

function failure(run: () => unknown): SaslFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof SaslFailure) return error;
    throw error;
  }
  throw new Error('accepted');
}

/** A SCRAM client written from RFC 5802 §3, independent of the server code. */
function clientFinal(
  mechanism: ScramMechanism,
  password: string,
  clientFirstBare: string,
  serverFirstMessage: string,
  gs2Header = 'n,,',
) {
  const h = mechanism === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
  const attrs = Object.fromEntries(serverFirstMessage.split(',').map((a) => [a[0], a.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), h === 'sha1' ? 20 : 32, h);
  const clientKey = createHmac(h, salted).update('Client Key').digest();
  const storedKey = createHash(h).update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2Header).toString('base64')},r=${attrs.r}`;
  const authMessage = `${clientFirstBare},${serverFirstMessage},${withoutProof}`;
  const signature = createHmac(h, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const serverKey = createHmac(h, salted).update('Server Key').digest();
  const serverSignature = createHmac(h, serverKey).update(authMessage).digest();
  return {
    message: `${withoutProof},p=${proof.toString('base64')}`,
    expectedServerFinal: `v=${serverSignature.toString('base64')}`,
  };
}

describe('RFC test vectors', () => {
  test('RFC 5802 §5 SCRAM-SHA-1 exchange, byte for byte', () => {
    const credential = deriveCredential('pencil', 'SCRAM-SHA-1', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096);
    const first = parseClientFirst('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
    expect(first).toEqual({
      gs2Header: 'n,,',
      username: 'user',
      clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
      clientFirstBare: 'n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    });
    const { message, state } = serverFirst('SCRAM-SHA-1', first, credential, '3rfcNHYJY1ZVvWVs7j');
    expect(message).toBe('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
    const final = verifyClientFinal(
      state,
      'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    );
    expect(final.serverFinal).toBe('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  });

  test('RFC 7677 §3 SCRAM-SHA-256 exchange, byte for byte', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const credential = deriveCredential('pencil', 'SCRAM-SHA-256', salt, 4096);
    const first = parseClientFirst('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const { message, state } = serverFirst('SCRAM-SHA-256', first, credential, '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
    expect(message).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = verifyClientFinal(
      state,
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(final.serverFinal).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
});

describe('parseClientFirst', () => {
  test("accepts the 'y' flag and keeps the whole gs2 header", () => {
    const first = parseClientFirst('y,,n=user,r=abc');
    expect(first.gs2Header).toBe('y,,');
    expect(first.clientFirstBare).toBe('n=user,r=abc');
  });

  test('reads an authzid and decodes =2C and =3D in it and in the username', () => {
    const first = parseClientFirst('n,a=ad=2Cmin=3D,n=us=2Cer=3d,r=abc');
    expect(first.authzid).toBe('ad,min=');
    expect(first.username).toBe('us,er=');
    expect(first.gs2Header).toBe('n,a=ad=2Cmin=3D,');
  });

  test('decodes "=3D2C" to "=2C", not to ","', () => {
    expect(parseClientFirst('n,,n=a=3D2C,r=abc').username).toBe('a=2C');
  });

  test('applies SASLprep to the username', () => {
    expect(parseClientFirst('n,,n=I\u00ADX\u00A0y,r=abc').username).toBe('IX y');
  });

  test('ignores unknown optional extensions after the nonce', () => {
    expect(parseClientFirst('n,,n=user,r=abc,x=whatever').clientNonce).toBe('abc');
  });

  test('refuses channel binding with not-authorized: this server cannot bind to the TLS channel', () => {
    expect(failure(() => parseClientFirst('p=tls-unique,,n=user,r=abc')).condition).toBe('not-authorized');
    expect(failure(() => parseClientFirst('p=tls-exporter,a=x,n=user,r=abc')).condition).toBe('not-authorized');
  });

  test('refuses a mandatory m= extension with not-authorized', () => {
    expect(failure(() => parseClientFirst('n,,m=ext,n=user,r=abc')).condition).toBe('not-authorized');
  });

  test.each([
    ['an empty message', ''],
    ['an unknown cbind flag', 'x,,n=user,r=abc'],
    ['a gs2 header without its second comma', 'n,n=user,r=abc'],
    ['a malformed channel binding name', 'p=tls unique,,n=user,r=abc'],
    ['an attribute other than a= in the gs2 header', 'n,b=x,n=user,r=abc'],
    ['an empty authzid', 'n,a=,n=user,r=abc'],
    ['a missing username', 'n,,r=abc'],
    ['an empty username', 'n,,n=,r=abc'],
    ['an unknown = escape in the username', 'n,,n=us=41er,r=abc'],
    ['a bare = in the username', 'n,,n=us=,r=abc'],
    ['an unknown = escape in the authzid', 'n,a=x=20y,n=user,r=abc'],
    ['a username SASLprep prohibits', 'n,,n=us\u0007er,r=abc'],
    ['a username that prepares to nothing', 'n,,n=\u00AD,r=abc'],
    ['a missing nonce', 'n,,n=user'],
    ['an empty nonce', 'n,,n=user,r='],
    ['a nonce with a non-printable character', 'n,,n=user,r=ab c'],
    ['attributes out of order', 'n,,r=abc,n=user'],
    ['a malformed extension', 'n,,n=user,r=abc,extension'],
    ['a NUL byte', 'n,,n=us\0er,r=abc'],
  ])('rejects %s as malformed-request', (_name, message) => {
    expect(failure(() => parseClientFirst(message)).condition).toBe('malformed-request');
  });
});

describe('verifyClientFinal', () => {
  const password = 'pencil';
  const credential = deriveCredentials(password)['SCRAM-SHA-256'];

  function exchange(gs2 = 'n,,') {
    const first = parseClientFirst(`${gs2}n=user,r=clientnonce`);
    const { message, state } = serverFirst('SCRAM-SHA-256', first, credential);
    return { state, ...clientFinal('SCRAM-SHA-256', password, first.clientFirstBare, message, gs2) };
  }

  const condition = (state: ScramState, message: string) => failure(() => verifyClientFinal(state, message)).condition;

  test('a full round trip with an independent client authenticates both sides', () => {
    const { state, message, expectedServerFinal } = exchange();
    expect(verifyClientFinal(state, message).serverFinal).toBe(expectedServerFinal);
  });

  test('round trip with an authzid and the y flag binds the whole gs2 header', () => {
    const { state, message, expectedServerFinal } = exchange('y,a=juliet@example.com,');
    expect(verifyClientFinal(state, message).serverFinal).toBe(expectedServerFinal);
  });

  test('round trip for SCRAM-SHA-1 with a non-ASCII password prepared on both sides', () => {
    const stored = deriveCredentials('p\u00E4ss\u00A0word')['SCRAM-SHA-1'];
    const first = parseClientFirst('n,,n=user,r=xyz');
    const { message, state } = serverFirst('SCRAM-SHA-1', first, stored);
    const client = clientFinal('SCRAM-SHA-1', 'p\u00E4ss word', first.clientFirstBare, message);
    expect(verifyClientFinal(state, client.message).serverFinal).toBe(client.expectedServerFinal);
  });

  test('the server nonce is random and extends the client nonce', () => {
    const first = parseClientFirst('n,,n=user,r=clientnonce');
    const a = serverFirst('SCRAM-SHA-256', first, credential).state.nonce;
    const b = serverFirst('SCRAM-SHA-256', first, credential).state.nonce;
    expect(a.startsWith('clientnonce')).toBe(true);
    expect(a.length).toBeGreaterThan('clientnonce'.length + 24);
    expect(a).not.toBe(b);
  });

  test('the state survives a JSON round trip', () => {
    const { state, message } = exchange();
    expect(() => verifyClientFinal(JSON.parse(JSON.stringify(state)), message)).not.toThrow();
  });

  test('rejects a proof made with the wrong password as not-authorized', () => {
    const first = parseClientFirst('n,,n=user,r=clientnonce');
    const { message, state } = serverFirst('SCRAM-SHA-256', first, credential);
    const wrong = clientFinal('SCRAM-SHA-256', 'Pencil', first.clientFirstBare, message);
    expect(condition(state, wrong.message)).toBe('not-authorized');
  });

  test('rejects a random proof of the right length as not-authorized', () => {
    const { state, message } = exchange();
    const forged = message.replace(/p=.*$/, `p=${randomBytes(32).toString('base64')}`);
    expect(condition(state, forged)).toBe('not-authorized');
  });

  test('rejects a proof of the wrong length as not-authorized', () => {
    const { state, message } = exchange();
    expect(condition(state, message.replace(/p=.*$/, 'p=AAAA'))).toBe('not-authorized');
  });

  test('rejects a nonce other than the one the server sent as not-authorized', () => {
    const { state, message } = exchange();
    expect(condition(state, message.replace(/r=[^,]*/, 'r=clientnonce'))).toBe('not-authorized');
    expect(condition(state, message.replace(/r=([^,]*)/, 'r=$1x'))).toBe('not-authorized');
  });

  test('rejects a c= that does not carry the gs2 header back as not-authorized', () => {
    const { state, message } = exchange();
    const other = Buffer.from('y,,').toString('base64');
    expect(condition(state, message.replace('c=biws', `c=${other}`))).toBe('not-authorized');
  });

  test('rejects a c= with channel binding data appended as not-authorized', () => {
    const { state, message } = exchange();
    const bound = Buffer.concat([Buffer.from('n,,'), randomBytes(12)]).toString('base64');
    expect(condition(state, message.replace('c=biws', `c=${bound}`))).toBe('not-authorized');
  });

  test('an extension inserted after the nonce breaks the proof, which covers the whole message', () => {
    const { state, message } = exchange();
    expect(condition(state, message.replace(/,p=/, ',x=added,p='))).toBe('not-authorized');
  });

  test.each([
    ['an empty message', () => ''],
    ['a missing proof', (m: string) => m.replace(/,p=.*$/, '')],
    ['an empty proof attribute name', (m: string) => m.replace(/p=/, '=')],
    ['attributes out of order', (m: string) => m.replace(/^(c=[^,]*),(r=[^,]*)/, '$2,$1')],
    ['a proof that is not base64', (m: string) => m.replace(/p=.*$/, 'p=not*base64')],
    ['a c= that is not base64', (m: string) => m.replace('c=biws', 'c=bi!ws')],
    ['a proof followed by another attribute', (m: string) => `${m},x=1`],
    ['a malformed extension', (m: string) => m.replace(/,p=/, ',ext,p=')],
    ['a NUL byte', (m: string) => m.replace('c=', 'c=\0')],
  ])('rejects %s as malformed-request', (_name, edit) => {
    const { state, message } = exchange();
    expect(condition(state, edit(message))).toBe('malformed-request');
  });
});
