/** The string cannot be prepared: it contains a prohibited character or breaks the bidi rule. */
export class SaslprepError extends Error {
  override name = 'SaslprepError';
}

// RFC 3454 C.1.2: non-ASCII space characters, mapped to SPACE (RFC 4013 §2.1).
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
// RFC 3454 B.1: commonly mapped to nothing.
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;

const u = (codePoint: number) => `\\u{${codePoint.toString(16)}}`;
// RFC 3454 C.4 includes the last two code points of every plane.
const PLANE_ENDS = Array.from(
  { length: 17 },
  (_, plane) => `${u(plane * 0x10000 + 0xfffe)}-${u(plane * 0x10000 + 0xffff)}`,
);

/**
 * RFC 4013 §2.3: tables C.1.2 to C.9 of RFC 3454. Unicode classes cover C.2.1 (Cc), C.3 (Co) and
 * C.5 (Cs), and whatever later Unicode versions added to them; the other tables are listed.
 */
const PROHIBITED = new RegExp(
  '[\\p{Cc}\\p{Co}\\p{Cs}' +
    '\\u00A0\\u1680\\u2000-\\u200B\\u202F\\u205F\\u3000' + // C.1.2
    '\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029\\u2060-\\u2063\\u206A-\\u206F' + // C.2.2
    '\\uFEFF\\uFFF9-\\uFFFC\\u{1D173}-\\u{1D17A}' +
    '\\uFDD0-\\uFDEF' + // C.4
    PLANE_ENDS.join('') +
    '\\uFFFD' + // C.6 (FFF9-FFFC already in C.2.2)
    '\\u2FF0-\\u2FFB' + // C.7
    '\\u0340\\u0341\\u200E\\u200F\\u202A-\\u202E' + // C.8
    '\\u{E0001}\\u{E0020}-\\u{E007F}' + // C.9
    ']',
  'u',
);

// RFC 3454 §6 bidi categories, approximated by script (JS regexes have no Bidi_Class):
// RandALCat ≈ letters of the right-to-left scripts, LCat ≈ any other letter.
const RTL_SCRIPTS =
  '\\p{Script=Hebrew}\\p{Script=Arabic}\\p{Script=Syriac}\\p{Script=Thaana}\\p{Script=Nko}' +
  '\\p{Script=Samaritan}\\p{Script=Mandaic}\\p{Script=Adlam}\\p{Script=Hanifi_Rohingya}';
const RAND_AL = new RegExp(`(?=\\p{L})[${RTL_SCRIPTS}]`, 'u');
const L_CAT = new RegExp(`(?![${RTL_SCRIPTS}])\\p{L}`, 'u');

/**
 * SASLprep (RFC 4013): the stringprep profile for user names and passwords. Unassigned code
 * points are allowed (RFC 3454 §7 "query" semantics): the result is only compared or hashed.
 */
export function saslprep(input: string): string {
  // Printable ASCII is unchanged by every step.
  if (/^[\x20-\x7E]*$/.test(input)) return input;
  // ZERO WIDTH SPACE is in both tables; mapping it to nothing keeps it invisible.
  const output = input.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  const bad = PROHIBITED.exec(output);
  if (bad) {
    const codePoint = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new SaslprepError(`prohibited character U+${codePoint}`);
  }
  // RFC 3454 §6: with any RandALCat character, no LCat, and RandALCat first and last.
  if (RAND_AL.test(output)) {
    const chars = [...output];
    if (L_CAT.test(output) || !RAND_AL.test(chars[0]!) || !RAND_AL.test(chars[chars.length - 1]!)) {
      throw new SaslprepError('mixed or unterminated right-to-left text');
    }
  }
  return output;
}
