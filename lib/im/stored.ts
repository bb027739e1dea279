import type { Element } from '@xmpp/xml';
import { parseFrame } from '../xml/parse-frame.ts';

/** Parses a stanza the server stored itself (last presence, pending request, offline message). */
export function parseStored(text: string): Element {
  return parseFrame(text, Number.MAX_SAFE_INTEGER)!;
}
