/** An address that is not a valid JID, or a part that cannot be prepared. */
export class JidError extends Error {
  override name = 'JidError';
}

// RFC 7622 §3: each part is at most 1023 bytes once prepared.
const MAX_PART_BYTES = 1023;

/** PRECIS width mapping (RFC 8265 §3.3): fullwidth and halfwidth forms to their decomposition. */
const widthMap = (s: string) => s.replace(/[\uFF01-\uFFEE]/gu, (c) => c.normalize('NFKC'));

/** No compatibility decomposition anywhere: PRECIS IdentifierClass and IDNA2008 disallow those (HasCompat). */
const isCompatFree = (s: string) => s.normalize('NFKC') === s;

// IdentifierClass approximated (RFC 8264 §4.2): printable ASCII other than what RFC 7622 §3.3.1 forbids
// in a localpart, or a letter, digit or mark (LetterDigits, RFC 8264 §9.1). Everything else (spaces,
// controls, symbols, punctuation, unassigned, private use, surrogates) is out.
const LOCALPART = /^(?:(?!["&'/:<>@])[\x21-\x7E]|[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}])+$/u;
const LABEL = /^(?!-)[\p{L}\p{M}\p{Nd}-]{1,63}(?<!-)$/u;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
// Resourcepart (FreeformClass): no controls, surrogates or unassigned code points.
const RESOURCE_DISALLOWED = /[\p{Cc}\p{Cs}\p{Cn}]/u;

function checkLength(part: string, name: string): string {
  if (Buffer.byteLength(part) > MAX_PART_BYTES) throw new JidError(`${name} longer than ${MAX_PART_BYTES} bytes`);
  return part;
}

/** PRECIS UsernameCaseMapped (RFC 8265 §3.3): width mapping, lowercase, NFC. The bidi rule is not applied. */
function prepareLocal(input: string): string {
  const local = widthMap(input).toLowerCase().normalize('NFC');
  if (local === '') throw new JidError('empty localpart');
  if (!LOCALPART.test(local) || !isCompatFree(local)) throw new JidError('localpart contains a disallowed character');
  return checkLength(local, 'localpart');
}

/** An IPv6 address without zone: at most one '::', hex groups, an optional dotted IPv4 tail worth two groups. */
function isIPv6(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  const tail = groups.at(-1)!;
  let size = 0;
  if (tail.length > 0 && IPV4.test(tail.at(-1)!)) {
    tail.pop();
    size = 2;
  }
  const hex = groups.flat();
  size += hex.length;
  return hex.every((group) => /^[0-9a-f]{1,4}$/.test(group)) && (halves.length === 2 ? size <= 7 : size === 8);
}

/** RFC 7622 §3.2: a host name (ASCII or Unicode labels), an IPv4 address or a bracketed IPv6 address. */
function prepareDomain(input: string): string {
  // RFC 7622 §3.2: one final dot is stripped before any other canonicalization.
  const stripped = input.endsWith('.') ? input.slice(0, -1) : input;
  const domain = widthMap(stripped).toLowerCase().normalize('NFC');
  if (domain === '') throw new JidError('empty domainpart');
  checkLength(domain, 'domainpart');
  if (domain.startsWith('[') && domain.endsWith(']')) {
    if (!isIPv6(domain.slice(1, -1))) throw new JidError('invalid IPv6 domainpart');
    return domain;
  }
  // All digits and dots: an IPv4 address or nothing (a top-level label is never numeric).
  if (/^[\d.]+$/.test(domain)) {
    if (!IPV4.test(domain)) throw new JidError('invalid IPv4 domainpart');
    return domain;
  }
  if (!domain.split('.').every((label) => LABEL.test(label)) || !isCompatFree(domain)) {
    throw new JidError('invalid domainpart');
  }
  return domain;
}

/** PRECIS OpaqueString (RFC 8265 §4.2): non-ASCII spaces to SPACE, NFC; case is kept. */
function prepareResource(input: string): string {
  const resource = input.replace(/\p{Zs}/gu, ' ').normalize('NFC');
  if (resource === '') throw new JidError('empty resourcepart');
  if (RESOURCE_DISALLOWED.test(resource)) throw new JidError('resourcepart contains a disallowed character');
  return checkLength(resource, 'resourcepart');
}

/** A prepared JID: two JIDs are the same address exactly when their parts are equal. */
export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;

  /** Prepares and validates each part ('' for an absent local or resource part); throws JidError. */
  constructor(local: string, domain: string, resource = '') {
    this.local = local === '' ? '' : prepareLocal(local);
    this.domain = prepareDomain(domain);
    this.resource = resource === '' ? '' : prepareResource(resource);
  }

  get bare(): Jid {
    return this.isBare ? this : new Jid(this.local, this.domain);
  }

  get isBare(): boolean {
    return this.resource === '';
  }

  toString(): string {
    return (this.local ? `${this.local}@` : '') + this.domain + (this.resource ? `/${this.resource}` : '');
  }

  equals(other: Jid): boolean {
    return this.local === other.local && this.domain === other.domain && this.resource === other.resource;
  }
}

export function parseJid(input: string): Jid {
  // RFC 7622 §3.1: the resource is everything after the first '/'; before it, the localpart ends at the first '@'.
  const slash = input.indexOf('/');
  const head = slash === -1 ? input : input.slice(0, slash);
  const resource = slash === -1 ? undefined : input.slice(slash + 1);
  const at = head.indexOf('@');
  const local = at === -1 ? undefined : head.slice(0, at);
  if (local === '') throw new JidError("empty localpart before '@'");
  if (resource === '') throw new JidError("empty resourcepart after '/'");
  return new Jid(local ?? '', head.slice(at + 1), resource);
}

export function tryParseJid(input: string): Jid | undefined {
  try {
    return parseJid(input);
  } catch (error) {
    if (error instanceof JidError) return undefined;
    throw error;
  }
}

/** A JID from separate parts ('' or no resource for none); each part is prepared and validated. */
export function makeJid(local: string, domain: string, resource?: string): Jid {
  return new Jid(local, domain, resource);
}
