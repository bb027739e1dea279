import { describe, expect, test } from 'vitest';
import { Jid, JidError, makeJid, parseJid, tryParseJid } from '../../lib/jid.ts';

describe('parsing', () => {
  test('splits a full JID into local, domain and resource', () => {
    const jid = parseJid('juliet@example.com/balcony');
    expect([jid.local, jid.domain, jid.resource]).toEqual(['juliet', 'example.com', 'balcony']);
  });

  test('a domain alone has empty local and resource parts', () => {
    const jid = parseJid('example.com');
    expect([jid.local, jid.domain, jid.resource]).toEqual(['', 'example.com', '']);
    expect(jid.toString()).toBe('example.com');
  });

  test('domain with resource and no localpart', () => {
    expect(parseJid('example.com/x').toString()).toBe('example.com/x');
  });

  test("the resource starts at the first '/' and may contain '/' and '@'", () => {
    const jid = parseJid('juliet@example.com/a/b@c');
    expect(jid.resource).toBe('a/b@c');
    expect(jid.local).toBe('juliet');
  });

  test("an '@' after the first '/' belongs to the resource, not the localpart", () => {
    const jid = parseJid('example.com/juliet@example.org');
    expect([jid.local, jid.domain, jid.resource]).toEqual(['', 'example.com', 'juliet@example.org']);
  });

  test('accepts IPv4 and bracketed IPv6 domains', () => {
    expect(parseJid('a@192.0.2.1').domain).toBe('192.0.2.1');
    expect(parseJid('a@[2001:DB8::1]/r').domain).toBe('[2001:db8::1]');
    expect(parseJid('[::ffff:192.0.2.1]').domain).toBe('[::ffff:192.0.2.1]');
    expect(parseJid('[1:2:3:4:5:6:7:8]').domain).toBe('[1:2:3:4:5:6:7:8]');
  });

  test('accepts Unicode localparts and domains', () => {
    expect(parseJid('café@bücher.example').toString()).toBe('café@bücher.example');
    expect(parseJid('ß@example.com').local).toBe('ß');
  });
});

describe('preparation', () => {
  test('lowercases the localpart and the domain but keeps the resource case', () => {
    expect(parseJid('Juliet@Example.COM/Balcony').toString()).toBe('juliet@example.com/Balcony');
  });

  test('lowercases non-ASCII letters in the localpart with Unicode toLowerCase, final sigma included', () => {
    expect(parseJid('ΑΒΓ@example.com').local).toBe('αβγ');
    expect(parseJid('ΣΑΣ@example.com').local).toBe('σας');
  });

  test('maps fullwidth characters of the localpart to their ASCII forms', () => {
    expect(parseJid('ＪＵＬＩＥＴ@example.com').local).toBe('juliet');
  });

  test('normalizes every part to NFC', () => {
    const decomposed = 'cafe\u0301';
    const jid = parseJid(`${decomposed}@${decomposed}.example/${decomposed}`);
    expect(jid.local).toBe('caf\u00e9');
    expect(jid.domain).toBe('caf\u00e9.example');
    expect(jid.resource).toBe('caf\u00e9');
  });

  test('strips one trailing dot from the domain', () => {
    expect(parseJid('juliet@example.com./r').domain).toBe('example.com');
  });

  test('maps non-ASCII spaces in the resource to SPACE', () => {
    expect(parseJid('a@example.com/my\u00A0phone').resource).toBe('my phone');
  });

  test('preparing a canonical JID again changes nothing', () => {
    for (const input of ['ΣΑΣ@Example.COM/Balcony', 'ＪＵＬＩＥＴ@example.com', 'cafe\u0301@x/y\u2003z']) {
      const jid = parseJid(input);
      expect(parseJid(jid.toString()).toString()).toBe(jid.toString());
    }
  });
});

describe('bare and full', () => {
  test('bare drops the resource', () => {
    const jid = parseJid('juliet@example.com/balcony');
    expect(jid.isBare).toBe(false);
    expect(jid.bare.toString()).toBe('juliet@example.com');
    expect(jid.bare.isBare).toBe(true);
  });

  test('a bare JID is its own bare JID', () => {
    const jid = parseJid('juliet@example.com');
    expect(jid.bare).toBe(jid);
  });
});

describe('equality', () => {
  test('JIDs that prepare to the same parts are equal', () => {
    expect(parseJid('Juliet@EXAMPLE.com./r').equals(parseJid('juliet@example.com/r'))).toBe(true);
  });

  test('resources differing in case are different', () => {
    expect(parseJid('juliet@example.com/R').equals(parseJid('juliet@example.com/r'))).toBe(false);
  });

  test('bare and full JIDs are different', () => {
    expect(parseJid('juliet@example.com').equals(parseJid('juliet@example.com/r'))).toBe(false);
  });
});

describe('makeJid', () => {
  test('prepares each part', () => {
    const jid = makeJid('Juliet', 'Example.com', 'Balcony');
    expect(jid.toString()).toBe('juliet@example.com/Balcony');
    expect(jid.equals(parseJid('juliet@example.com/Balcony'))).toBe(true);
  });

  test('empty local and missing resource mean none', () => {
    expect(makeJid('', 'example.com').toString()).toBe('example.com');
  });

  test("validates parts, so '@' cannot be smuggled into a localpart", () => {
    expect(() => makeJid('a@b', 'example.com')).toThrow(JidError);
  });

  test('is the same as the Jid constructor', () => {
    expect(new Jid('A', 'B').equals(makeJid('a', 'b'))).toBe(true);
  });
});

describe('rejections', () => {
  const invalid: [string, string][] = [
    ['empty string', ''],
    ["'@' without a localpart", '@example.com'],
    ["'/' without a resource", 'juliet@example.com/'],
    ['empty domain', 'juliet@'],
    ['empty domain before a resource', 'juliet@/r'],
    ['domain that is only a dot', 'juliet@.'],
    ['empty label', 'a@example..com'],
    ['label starting with a hyphen', 'a@-example.com'],
    ['label longer than 63 characters', `a@${'x'.repeat(64)}.com`],
    ['space in the domain', 'a@exa mple.com'],
    ['second @ in the domain', 'a@b@example.com'],
    ['underscore in the domain', 'a@ex_ample.com'],
    ['invalid IPv4 address', 'a@192.0.2.256'],
    ['invalid IPv6 address', 'a@[2001:db8:::1]'],
    ['IPv6 address without brackets closing', 'a@[::1'],
    ['space in the localpart', 'jul iet@example.com'],
    ['quote in the localpart', 'ju"liet@example.com'],
    ['ampersand in the localpart', 'a&b@example.com'],
    ["apostrophe in the localpart", "o'neil@example.com"],
    ['colon in the localpart', 'a:b@example.com'],
    ['angle bracket in the localpart', 'a<b@example.com'],
    ['control character in the localpart', 'a\u0007b@example.com'],
    ['symbol in the localpart', 'a\u2665b@example.com'],
    ['compatibility character in the localpart', '\u00AA@example.com'],
    ['letter number in the localpart', '\u2168@example.com'],
    ['compatibility character in the domain', 'a@\u00AA.example'],
    ['private-use character in the localpart', '\uE000@example.com'],
    ['unassigned code point in the localpart', '\u0378@example.com'],
    ['control character in the resource', 'a@example.com/x\u0000y'],
    ['lone surrogate in the resource', 'a@example.com/x\uD800'],
    ['overlong localpart', `${'a'.repeat(1024)}@example.com`],
    ['overlong domain', `a@${Array(200).fill('abcdef').join('.')}`],
    ['overlong resource', `a@example.com/${'é'.repeat(512)}`],
  ];
  test.each(invalid)('rejects %s', (_name, input) => {
    expect(() => parseJid(input)).toThrow(JidError);
    expect(tryParseJid(input)).toBeUndefined();
  });

  test('accepts each part at exactly 1023 bytes', () => {
    const jid = parseJid(`${'a'.repeat(1023)}@example.com/${'r'.repeat(1023)}`);
    expect(jid.local).toHaveLength(1023);
    expect(jid.resource).toHaveLength(1023);
  });

  test('tryParseJid returns the JID when valid', () => {
    expect(tryParseJid('juliet@example.com')?.toString()).toBe('juliet@example.com');
  });
});
