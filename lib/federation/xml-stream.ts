import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import xml, { type Element } from '@xmpp/xml';
import { StreamError, type StreamErrorCondition } from '../stream/stream-error.ts';
import { S2S_NS } from './namespaces.ts';
import { StreamParser, type StreamHeader } from './stream-parser.ts';

/** RFC 6120 §4.9.3 conditions a server-to-server stream can end with (the c2s list plus s2s-only ones). */
export type S2sStreamErrorCondition = StreamErrorCondition | 'improper-addressing' | 'remote-connection-failed' | 'undefined-condition';

export interface XmlStreamHandler {
  open(header: StreamHeader): void;
  element(element: Element, uri: string): void;
  /** The stream is over: `error` is what ended it, if anything did. Called once. */
  closed(error?: Error): void;
}

export interface XmlStreamOptions {
  maxStanzaBytes: number;
  /** No byte received for this long: the stream is closed (RFC 6120 §4.6.2). */
  idleTimeoutMs: number;
}

const escapeAttr = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** The opening tag of a jabber:server stream, always with the dialback namespace declared (XEP-0220 §2.4.1). */
export function streamHeader(attrs: Record<string, string | undefined>): string {
  const all: Record<string, string | undefined> = {
    xmlns: S2S_NS.server,
    'xmlns:stream': S2S_NS.stream,
    'xmlns:db': S2S_NS.dialback,
    version: '1.0',
    ...attrs,
  };
  const rendered = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
    .join('');
  return `<?xml version='1.0'?><stream:stream${rendered}>`;
}

/**
 * One XML stream over a socket, in either direction: parses what comes in, writes what goes out, restarts
 * (after STARTTLS and SASL, RFC 6120 §4.3.3), ends with a stream error and </stream:stream>, never throws
 * on peer input.
 */
export class XmlStream {
  private parser: StreamParser;
  private ended = false;
  private closedCalled = false;
  private onData = (chunk: string) => this.receive(chunk);
  private onEnd = () => this.terminate();
  private onError = (error: Error) => this.terminate(error);
  private onTimeout = () => this.close(); // §4.6.2: an idle peer's stream is closed, not errored.

  constructor(
    public socket: Socket | TLSSocket,
    private readonly options: XmlStreamOptions,
    private readonly handler: XmlStreamHandler,
  ) {
    this.parser = this.newParser();
    this.attach(socket);
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  send(element: Element | string): void {
    if (this.ended || this.socket.destroyed) return;
    this.socket.write(typeof element === 'string' ? element : element.toString());
  }

  /** A new parser for the next stream header, optionally on a new (TLS) socket. */
  restart(socket?: Socket | TLSSocket): void {
    if (socket && socket !== this.socket) {
      this.detach(this.socket);
      this.socket = socket;
      this.attach(socket);
    }
    this.parser = this.newParser();
  }

  /** Stops reading from the socket so another layer (TLS) can take it over. */
  release(): Socket | TLSSocket {
    this.detach(this.socket);
    // Errors now surface through the TLS socket that wraps this one; an unheard 'error' would crash the process.
    this.socket.on('error', () => undefined);
    return this.socket;
  }

  /** Ends the stream with a stream error (RFC 6120 §4.9.1.1): the error, then the closing tag, then the socket. */
  fail(condition: S2sStreamErrorCondition, text?: string): void {
    if (this.ended) return;
    this.send(
      xml(
        'stream:error',
        {},
        xml(condition, { xmlns: S2S_NS.streams }),
        ...(text ? [xml('text', { xmlns: S2S_NS.streams, 'xml:lang': 'en' }, text)] : []),
      ),
    );
    this.close(new Error(text ? `${condition}: ${text}` : condition));
  }

  /** Closes the stream gracefully (RFC 6120 §4.4): our closing tag, then the socket once the peer closed or after a moment. */
  close(error?: Error): void {
    if (this.ended) return;
    this.send('</stream:stream>');
    this.ended = true;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
    this.notifyClosed(error);
  }

  /** Tears the socket down at once (connection lost, or our own shutdown). */
  destroy(error?: Error): void {
    this.ended = true;
    this.socket.destroy();
    this.notifyClosed(error);
  }

  private terminate(error?: Error) {
    this.ended = true;
    if (!this.socket.destroyed) this.socket.destroy();
    this.notifyClosed(error);
  }

  private notifyClosed(error?: Error) {
    if (this.closedCalled) return;
    this.closedCalled = true;
    this.handler.closed(error);
  }

  private newParser(): StreamParser {
    return new StreamParser(this.options.maxStanzaBytes, {
      open: (header) => this.handler.open(header),
      element: (element, uri) => this.handler.element(element, uri),
      close: () => this.close(),
    });
  }

  private receive(chunk: string) {
    if (this.ended) return;
    try {
      this.parser.write(chunk);
    } catch (error) {
      if (error instanceof StreamError) this.fail(error.condition, error.text);
      else {
        // A bug on our side must not take the process down with it: end this stream only.
        console.error(JSON.stringify({ level: 'error', msg: 's2s stream handler failed', error: String((error as Error).stack ?? error) }));
        this.fail('internal-server-error');
      }
    }
  }

  private attach(socket: Socket | TLSSocket) {
    socket.setEncoding('utf8');
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    socket.on('timeout', this.onTimeout);
  }

  private detach(socket: Socket | TLSSocket) {
    socket.setTimeout(0);
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
    socket.off('timeout', this.onTimeout);
  }
}
