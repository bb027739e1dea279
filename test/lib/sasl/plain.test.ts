import { describe, expect, test } from 'vitest';
import { SaslFailure } from '../../../lib/sasl/failure.ts';
import { parsePlain } from '../../../lib/sasl/plain.ts';

const message = (...fields: string[]) => Buffer.from(fields.join('\0'), 'utf8');

function failure(input: Buffer): SaslFailure {
  try {
    parsePlain(input);
  } catch (error) {
    if (error instanceof SaslFailure) return error;
    throw error;
  }
  throw new Error('parsePlain accepted the message');
}

describe('parsePlain', () => {
  test('reads authcid and password without an authzid', () => {
    expect(parsePlain(message('', 'tim', 'tanstaaftanstaaf'))).toEqual({
      authcid: 'tim',
      password: 'tanstaaftanstaaf',
    });
  });

  test('reads an authzid when present', () => {
    expect(parsePlain(message('Ursel', 'Kurt', 'xipj3plmq'))).toEqual({
      authzid: 'Ursel',
      authcid: 'Kurt',
      password: 'xipj3plmq',
    });
  });

  test('applies SASLprep to authcid and password but not to the authzid', () => {
    expect(parsePlain(message('I\u00ADX', 'I\u00ADX', 'pass\u00A0word'))).toEqual({
      authzid: 'I\u00ADX',
      authcid: 'IX',
      password: 'pass word',
    });
  });

  test('decodes UTF-8', () => {
    expect(parsePlain(message('', 'jürgen', 'pässwörd')).password).toBe('pässwörd');
  });

  test('accepts fields of exactly 255 bytes', () => {
    const long = 'é'.repeat(127) + 'a';
    expect(parsePlain(message('', long, long)).authcid).toBe(long);
  });

  test.each<[string, Buffer]>([
    ['two fields', message('tim', 'secret')],
    ['four fields', message('', 'tim', 'secret', 'more')],
    ['an empty message', Buffer.alloc(0)],
    ['an empty authcid', message('', '', 'secret')],
    ['an empty password', message('', 'tim', '')],
    ['an authcid over 255 bytes', message('', 'a'.repeat(256), 'secret')],
    ['a password over 255 bytes', message('', 'tim', 'é'.repeat(128))],
    ['invalid UTF-8', Buffer.concat([Buffer.from('\0tim\0'), Buffer.from([0xc3, 0x28])])],
    ['a password SASLprep prohibits', message('', 'tim', 'se\u0007cret')],
    ['an authcid that prepares to nothing', message('', '\u00AD', 'secret')],
  ])('rejects %s as malformed-request', (_name, input) => {
    expect(failure(input).condition).toBe('malformed-request');
  });
});
