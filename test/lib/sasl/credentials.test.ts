import { describe, expect, test } from 'vitest';
import {
  SCRAM_ITERATIONS,
  deriveCredential,
  deriveCredentials,
  verifyPassword,
} from '../../../lib/sasl/credentials.ts';
import { SaslprepError } from '../../../lib/sasl/saslprep.ts';

describe('deriveCredentials', () => {
  const password = 'correct horse battery staple';
  const credentials = deriveCredentials(password);

  test('produces a credential for each SCRAM mechanism with the default iteration count', () => {
    expect(Object.keys(credentials).sort()).toEqual(['SCRAM-SHA-1', 'SCRAM-SHA-256']);
    expect(credentials['SCRAM-SHA-1'].iterations).toBe(SCRAM_ITERATIONS);
    expect(credentials['SCRAM-SHA-256'].iterations).toBe(4096);
  });

  test('keys have the length of the mechanism hash and salts are 16 bytes', () => {
    const bytes = (b64: string) => Buffer.from(b64, 'base64').length;
    expect(bytes(credentials['SCRAM-SHA-1'].storedKey)).toBe(20);
    expect(bytes(credentials['SCRAM-SHA-1'].serverKey)).toBe(20);
    expect(bytes(credentials['SCRAM-SHA-256'].storedKey)).toBe(32);
    expect(bytes(credentials['SCRAM-SHA-256'].serverKey)).toBe(32);
    expect(bytes(credentials['SCRAM-SHA-1'].salt)).toBe(16);
    expect(bytes(credentials['SCRAM-SHA-256'].salt)).toBe(16);
  });

  test('the output contains no trace of the password and survives JSON', () => {
    const json = JSON.stringify(credentials);
    expect(json).not.toContain(password);
    expect(json).not.toContain(Buffer.from(password).toString('base64'));
    expect(json).not.toContain(Buffer.from(password).toString('hex'));
    expect(JSON.parse(json)).toEqual(credentials);
  });

  test('uses a fresh salt per mechanism and per call', () => {
    const again = deriveCredentials(password);
    const salts = [credentials, again].flatMap((c) => [c['SCRAM-SHA-1'].salt, c['SCRAM-SHA-256'].salt]);
    expect(new Set(salts).size).toBe(4);
    expect(again['SCRAM-SHA-256'].storedKey).not.toBe(credentials['SCRAM-SHA-256'].storedKey);
  });

  test('honours a custom iteration count', () => {
    expect(deriveCredentials('pw', 5000)['SCRAM-SHA-256'].iterations).toBe(5000);
  });

  test('rejects a password SASLprep prohibits', () => {
    expect(() => deriveCredentials('bad\u0000pw')).toThrow(SaslprepError);
  });

  test('rejects a password that prepares to nothing', () => {
    expect(() => deriveCredentials('\u00AD')).toThrow(RangeError);
  });
});

describe('verifyPassword', () => {
  const credentials = deriveCredentials('pencil');

  test('accepts the right password for both mechanisms', () => {
    expect(verifyPassword('pencil', credentials['SCRAM-SHA-1'], 'SCRAM-SHA-1')).toBe(true);
    expect(verifyPassword('pencil', credentials['SCRAM-SHA-256'], 'SCRAM-SHA-256')).toBe(true);
  });

  test('rejects a wrong password', () => {
    expect(verifyPassword('Pencil', credentials['SCRAM-SHA-256'], 'SCRAM-SHA-256')).toBe(false);
    expect(verifyPassword('', credentials['SCRAM-SHA-1'], 'SCRAM-SHA-1')).toBe(false);
  });

  test('compares prepared passwords, so SASLprep-equivalent spellings match', () => {
    const stored = deriveCredentials('I\u00ADX')['SCRAM-SHA-256'];
    expect(verifyPassword('\u2168', stored, 'SCRAM-SHA-256')).toBe(true);
  });

  test('returns false rather than throwing for a password SASLprep prohibits', () => {
    expect(verifyPassword('pen\u0007cil', credentials['SCRAM-SHA-256'], 'SCRAM-SHA-256')).toBe(false);
  });

  test('rejects a credential used with the other mechanism', () => {
    expect(verifyPassword('pencil', credentials['SCRAM-SHA-1'], 'SCRAM-SHA-256')).toBe(false);
  });

  test('matches the RFC 5802 example credential derived from its salt', () => {
    const salt = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
    const credential = deriveCredential('pencil', 'SCRAM-SHA-1', salt, 4096);
    expect(credential.salt).toBe('QSXCR+Q6sek8bf92');
    expect(verifyPassword('pencil', credential, 'SCRAM-SHA-1')).toBe(true);
  });
});
