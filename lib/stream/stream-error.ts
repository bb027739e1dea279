import xml, { type Element } from '@xmpp/xml';
import { NS } from '../xml/namespaces.ts';

/** RFC 6120 §4.9.3 conditions this server raises. */
export type StreamErrorCondition =
  | 'bad-format'
  | 'conflict'
  | 'connection-timeout'
  | 'host-unknown'
  | 'internal-server-error'
  | 'invalid-from'
  | 'invalid-namespace'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'restricted-xml'
  | 'system-shutdown'
  | 'unsupported-stanza-type'
  | 'unsupported-version';

/** Thrown anywhere in stream handling; ends the stream: `<stream:error/>`, `<close/>`, then the socket (RFC 7395 §3.6). */
export class StreamError extends Error {
  constructor(readonly condition: StreamErrorCondition, readonly text?: string) {
    super(text ? `${condition}: ${text}` : condition);
  }
}

export function streamErrorElement(condition: StreamErrorCondition, text?: string): Element {
  return xml(
    'stream:error',
    { 'xmlns:stream': NS.stream },
    xml(condition, { xmlns: NS.streams }),
    ...(text ? [xml('text', { xmlns: NS.streams, 'xml:lang': 'en' }, text)] : []),
  );
}
