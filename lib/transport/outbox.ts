import type { Element } from '@xmpp/xml';
import type { Connections } from './connections.ts';

interface Outgoing {
  frames: Array<{ frame: string; stanza?: Element }>;
  /** The bound session the frames are for, so a gone connection's session can be cleaned up. */
  session?: string;
  close: boolean;
}

export interface FlushResult {
  /** Connections found gone (HTTP 410), with their session when the frames were deliveries to one. */
  gone: Array<{ connectionId: string; session?: string }>;
  /** Stanzas delivered to sessions that no copy reached, with the session each was meant for. */
  undelivered: Array<{ stanza: Element; session: string }>;
}

/**
 * What handling one frame sends: collected first, then posted after the state is written.
 * Frames to one connection go in order; different connections are posted side by side.
 */
export class Outbox {
  private readonly outgoing = new Map<string, Outgoing>();

  /** Queues a frame; with `session`, it is a stanza delivered to that bound session. */
  send(connectionId: string, frame: Element | string, session?: string): void {
    const entry = this.entry(connectionId);
    entry.frames.push({ frame: frame.toString(), stanza: session && typeof frame !== 'string' ? frame : undefined });
    entry.session ??= session;
  }

  /** Closes the connection after its frames are sent. */
  close(connectionId: string): void {
    this.entry(connectionId).close = true;
  }

  get empty(): boolean {
    return this.outgoing.size === 0;
  }

  async flush(connections: Connections): Promise<FlushResult> {
    const result: FlushResult = { gone: [], undelivered: [] };
    const reached = new Set<Element>();
    const missed: FlushResult['undelivered'] = [];
    const entries = [...this.outgoing];
    this.outgoing.clear();
    await Promise.all(
      entries.map(async ([connectionId, entry]) => {
        for (const [index, { frame, stanza }] of entry.frames.entries()) {
          if (await connections.post(connectionId, frame)) {
            if (stanza) reached.add(stanza);
            continue;
          }
          result.gone.push({ connectionId, session: entry.session });
          for (const rest of entry.frames.slice(index)) if (rest.stanza) missed.push({ stanza: rest.stanza, session: entry.session! });
          return;
        }
        if (entry.close) await connections.close(connectionId);
      }),
    );
    // A stanza sent to several resources is lost only if none of them got it.
    result.undelivered = missed.filter(({ stanza }) => !reached.has(stanza));
    return result;
  }

  private entry(connectionId: string): Outgoing {
    let entry = this.outgoing.get(connectionId);
    if (!entry) this.outgoing.set(connectionId, (entry = { frames: [], close: false }));
    return entry;
  }
}
