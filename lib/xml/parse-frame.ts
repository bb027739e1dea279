import { Element } from '@xmpp/xml';
import { SaxesParser } from 'saxes';

/** Why a frame was refused; each maps to the stream error of the same name (RFC 6120 §4.9.3). */
export type FrameErrorCondition = 'not-well-formed' | 'restricted-xml' | 'policy-violation';

export class FrameError extends Error {
  constructor(readonly condition: FrameErrorCondition, message: string) {
    super(message);
  }
}

/**
 * Parses one RFC 7395 frame: exactly one complete element. Restricted XML (RFC 6120 §11.1):
 * comments, processing instructions, DTDs and entities other than the predefined ones are refused.
 * Returns undefined for a frame of only whitespace.
 */
export function parseFrame(text: string, maxBytes: number): Element | undefined {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new FrameError('policy-violation', `stanza larger than ${maxBytes} bytes`);
  }
  if (text.trim() === '') return undefined;

  const parser = new SaxesParser({ xmlns: true });
  let root: Element | undefined;
  let current: Element | undefined;
  let failure: FrameError | undefined;
  const fail = (condition: FrameErrorCondition, message: string) => {
    failure ??= new FrameError(condition, message);
  };

  parser.on('doctype', () => fail('restricted-xml', 'DTDs are not allowed'));
  parser.on('processinginstruction', () => fail('restricted-xml', 'processing instructions are not allowed'));
  parser.on('comment', () => fail('restricted-xml', 'comments are not allowed'));
  parser.on('error', (error) => fail('not-well-formed', error.message));
  parser.on('opentag', (tag) => {
    const attrs: Record<string, string> = {};
    for (const [name, attr] of Object.entries(tag.attributes)) attrs[name] = attr.value;
    const element = new Element(tag.name, attrs);
    if (current) current.cnode(element);
    else if (root) fail('not-well-formed', 'a frame holds exactly one element (RFC 7395 §3.3.3)');
    else root = element;
    current = element;
  });
  parser.on('closetag', () => {
    current = current?.parent as Element | undefined;
  });
  parser.on('text', (text) => current?.t(text));
  parser.on('cdata', (text) => current?.t(text));

  try {
    parser.write(text).close();
  } catch (error) {
    fail('not-well-formed', (error as Error).message);
  }
  if (failure) throw failure;
  if (!root) throw new FrameError('not-well-formed', 'no element in frame');
  return root;
}
