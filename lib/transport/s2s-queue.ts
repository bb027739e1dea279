import { createHash } from 'node:crypto';
import { Element } from '@xmpp/xml';
import { tryParseJid } from '../jid.ts';
import type { S2sQueue } from '../server.ts';

/**
 * The order unit of the s2s-out queue: `<sender bare JID>|<recipient domain>`. RFC 6120 §10.1 asks that one
 * sender's stanzas to one peer keep their order; different senders and domains may go in parallel (and a peer
 * that is down for the retry window holds back only its own groups).
 */
export function s2sGroupOf(stanza: Element): string {
  const from = tryParseJid(stanza.attrs.from ?? '');
  const to = tryParseJid(stanza.attrs.to ?? '');
  return `${from?.bare.toString() ?? stanza.attrs.from ?? ''}|${to?.domain ?? stanza.attrs.to ?? ''}`;
}

/** SQS's MessageGroupId: at most 128 printable ASCII characters; other groups are hashed, which keeps them apart. */
export function sqsMessageGroupId(group: string): string {
  return /^[\x21-\x7e]{1,128}$/.test(group) ? group : `sha256:${createHash('sha256').update(group).digest('hex')}`;
}

export interface InProcessS2sQueue extends S2sQueue {
  /** Resolves when everything enqueued so far has been consumed. */
  idle(): Promise<void>;
}

/**
 * The local s2s-out queue: enqueue hands the stanza to `consume`, in order per group (as the SQS FIFO queue
 * does), without waiting for it — the sender's stream goes on while the federation connects or retries.
 */
export function createInProcessS2sQueue(consume: (stanza: Element) => Promise<unknown>): InProcessS2sQueue {
  const tails = new Map<string, Promise<void>>();
  return {
    async enqueue(stanza) {
      const group = s2sGroupOf(stanza);
      // A copy: the router may still touch the element it routed after handing it over.
      const copy = deepCopy(stanza);
      const run = async () => {
        try {
          await consume(copy);
        } catch (error) {
          // Federation.send never rejects for network reasons; anything else is a bug worth a loud line.
          console.error(JSON.stringify({ level: 'error', msg: 's2s consumer failed', group, stanza: copy.toString(), error: String(error) }));
        }
      };
      const tail = (tails.get(group) ?? Promise.resolve()).then(run);
      tails.set(group, tail);
      void tail.then(() => {
        if (tails.get(group) === tail) tails.delete(group);
      });
    },
    async idle() {
      while (tails.size > 0) await Promise.all(tails.values());
    },
  };
}

function deepCopy(element: Element): Element {
  const copy = new Element(element.name, { ...element.attrs });
  for (const child of element.children) {
    if (typeof child === 'string') copy.children.push(child);
    else copy.cnode(deepCopy(child as Element));
  }
  return copy;
}
