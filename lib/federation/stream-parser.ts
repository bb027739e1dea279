import { Element } from '@xmpp/xml';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { StreamError } from '../stream/stream-error.ts';
import { S2S_NS } from './namespaces.ts';

/** The stream header as received: its attributes and the namespaces it declares (prefix → URI, '' for the default). */
export interface StreamHeader {
  attrs: Record<string, string>;
  declarations: Record<string, string>;
}

export interface StreamParserEvents {
  open(header: StreamHeader): void;
  /** A complete first-level child of the stream; `uri` is its resolved namespace. */
  element(element: Element, uri: string): void;
  close(): void;
}

/**
 * Incremental parser for one XML stream (RFC 6120 §4): the same restricted XML as lib/xml/parse-frame.ts
 * (no DTD, PI, comment or undeclared entity: §11.1), and a size limit on each first-level element (and on the
 * header) so a peer cannot make us buffer without bound. A new parser is made at each stream restart (§4.3.3).
 * Failures throw StreamError from write().
 */
export class StreamParser {
  private readonly parser = new SaxesParser({ xmlns: true });
  private depth = 0;
  private current: Element | undefined;
  /** Prefixes declared inside the element being built, per open element. */
  private declared: Set<string>[] = [];
  private start = 0;
  /** Characters written so far. */
  private fed = 0;
  private failure: StreamError | undefined;
  private closed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly events: StreamParserEvents,
  ) {
    const p = this.parser;
    p.on('doctype', () => this.fail('restricted-xml', 'DTDs are not allowed'));
    p.on('processinginstruction', () => this.fail('restricted-xml', 'processing instructions are not allowed'));
    p.on('comment', () => this.fail('restricted-xml', 'comments are not allowed'));
    p.on('error', (error) => this.fail('not-well-formed', error.message));
    p.on('opentag', (tag) => this.guard(() => this.open(tag)));
    p.on('closetag', (tag) => this.guard(() => this.closeTag(tag)));
    p.on('text', (text) => this.guard(() => this.text(text)));
    p.on('cdata', (text) => this.guard(() => this.text(text)));
  }

  write(chunk: string): void {
    if (this.failure) throw this.failure;
    if (this.closed) return;
    this.fed += chunk.length;
    try {
      this.parser.write(chunk);
    } catch (error) {
      this.fail('not-well-formed', (error as Error).message);
    }
    // saxes's own `position` is exact inside event handlers only, so between writes we count ourselves.
    if (!this.failure && !this.closed) this.checkSize(this.fed);
    if (this.failure) throw this.failure;
  }

  private guard(action: () => void) {
    if (this.failure || this.closed) return;
    try {
      action();
    } catch (error) {
      if (error instanceof StreamError) this.failure ??= error;
      else throw error;
    }
  }

  private fail(condition: 'not-well-formed' | 'restricted-xml' | 'policy-violation', text: string) {
    this.failure ??= new StreamError(condition, text);
  }

  /**
   * What the parser holds since the last first-level boundary (the header's end, or the previous element's end):
   * the element being read, with its start tag, and any whitespace before it, which saxes also buffers. Counted in
   * characters, a lower bound of bytes: enough to stop an oversized element while it streams in.
   */
  private checkSize(position: number) {
    if (position - this.start > this.maxBytes) this.fail('policy-violation', `element larger than ${this.maxBytes} bytes`);
  }

  private open(tag: SaxesTagNS) {
    this.checkSize(this.parser.position);
    if (this.depth === 0) {
      // RFC 6120 §4.8.1: the root is <stream> in the streams namespace.
      if (tag.local !== 'stream' || tag.uri !== S2S_NS.stream) throw new StreamError('invalid-namespace', 'expected <stream:stream>');
      const attrs: Record<string, string> = {};
      for (const attr of Object.values(tag.attributes)) attrs[attr.name] = attr.value;
      this.depth = 1;
      this.start = this.parser.position;
      this.events.open({ attrs, declarations: { ...tag.ns } });
      return;
    }
    const attrs: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) attrs[attr.name] = attr.value;
    const declaredHere = new Set(Object.keys(tag.ns));
    // A prefix declared on the stream header only (db:, stream:) is declared again on the element: it travels alone.
    if (tag.prefix && !declaredHere.has(tag.prefix) && !this.declared.some((s) => s.has(tag.prefix))) {
      attrs[`xmlns:${tag.prefix}`] = tag.uri;
      declaredHere.add(tag.prefix);
    }
    if (this.depth === 1) {
      if (!tag.prefix && !('xmlns' in attrs) && tag.uri !== S2S_NS.server) attrs.xmlns = tag.uri;
    }
    const element = new Element(tag.name, attrs);
    if (this.current) this.current.cnode(element);
    this.current = element;
    this.declared.push(declaredHere);
    this.depth++;
  }

  private closeTag(tag: SaxesTagNS) {
    this.depth--;
    if (this.depth === 0) {
      this.closed = true;
      this.events.close();
      return;
    }
    const element = this.current!;
    this.declared.pop();
    this.current = element.parent as Element | undefined;
    if (this.depth === 1) {
      this.current = undefined;
      if (this.parser.position - this.start > this.maxBytes) throw new StreamError('policy-violation', `element larger than ${this.maxBytes} bytes`);
      this.start = this.parser.position;
      element.parent = null;
      this.events.element(element, tag.uri);
    }
  }

  private text(text: string) {
    if (this.current) {
      this.current.t(text);
      return;
    }
    // Between first-level elements only whitespace is allowed (keepalives, RFC 6120 §4.6.1).
    if (this.depth === 1 && text.trim() !== '') throw new StreamError('not-well-formed', 'text outside of any element');
  }
}
