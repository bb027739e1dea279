import { expect, test } from 'vitest';
import { SaslprepError, saslprep } from '../../../lib/sasl/saslprep.ts';

// RFC 4013 §3.
test('maps SOFT HYPHEN to nothing', () => expect(saslprep('I\u00ADX')).toBe('IX'));
test('leaves a lowercase ASCII name unchanged', () => expect(saslprep('user')).toBe('user'));
test('keeps case', () => expect(saslprep('USER')).toBe('USER'));
test('NFKC maps FEMININE ORDINAL INDICATOR to a', () => expect(saslprep('\u00AA')).toBe('a'));
test('NFKC maps ROMAN NUMERAL NINE to IX', () => expect(saslprep('\u2168')).toBe('IX'));
test('rejects an ASCII control character', () => expect(() => saslprep('\u0007')).toThrow(SaslprepError));
test('rejects right-to-left text that does not end with a right-to-left character', () =>
  expect(() => saslprep('\u0627\u0031')).toThrow(SaslprepError));

test('returns printable ASCII as is, spaces and symbols included', () => {
  const ascii = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~';
  expect(saslprep(ascii)).toBe(ascii);
});

test('maps non-ASCII spaces to SPACE', () => expect(saslprep('a\u00A0b\u3000c\u2003d')).toBe('a b c d'));

test('maps zero-width and variation-selector characters to nothing', () =>
  expect(saslprep('a\u200Bb\uFE0Fc\uFEFFd')).toBe('abcd'));

test('normalizes with NFKC', () => {
  expect(saslprep('cafe\u0301')).toBe('caf\u00e9');
  expect(saslprep('\uFF21')).toBe('A');
});

test('accepts right-to-left text that starts and ends with a right-to-left character', () =>
  expect(saslprep('\u0627\u0031\u0628')).toBe('\u0627\u0031\u0628'));

test('rejects right-to-left text mixed with left-to-right letters', () =>
  expect(() => saslprep('\u0627a\u0628')).toThrow(SaslprepError));

test.each([
  ['DEL', '\u007F'],
  ['a C1 control', '\u0085'],
  ['LINE SEPARATOR', '\u2028'],
  ['a private-use character', '\uE000'],
  ['a supplementary private-use character', '\u{F0000}'],
  ['a noncharacter', '\uFDD0'],
  ['a noncharacter at the end of a plane', '\u{1FFFE}'],
  ['a lone surrogate', '\uD800'],
  ['REPLACEMENT CHARACTER', '\uFFFD'],
  ['an ideographic description character', '\u2FF0'],
  ['LEFT-TO-RIGHT MARK', '\u200E'],
  ['a tagging character', '\u{E0041}'],
])('rejects %s', (_name, char) => {
  expect(() => saslprep(`a${char}b`)).toThrow(SaslprepError);
});

test('an empty string prepares to an empty string', () => expect(saslprep('')).toBe(''));
