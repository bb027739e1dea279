import type { Element } from '@xmpp/xml';
import type { Connections } from './connections.ts';

interface Outgoing {
  frames: string[];
  /** The bound session the frames are for, so a gone connection's session can be cleaned up. */
  session?: string;
  close: boolean;
}

/**
 * What handling one frame sends: collected first, then posted after the state is written.
 * Frames to one connection go in order; different connections are posted side by side.
 */
export class Outbox {
  private readonly outgoing = new Map<string, Outgoing>();

  send(connectionId: string, frame: Element | string, session?: string): void {
    const entry = this.entry(connectionId);
    entry.frames.push(frame.toString());
    entry.session ??= session;
  }

  /** Closes the connection after its frames are sent. */
  close(connectionId: string): void {
    this.entry(connectionId).close = true;
  }

  get size(): number {
    let n = 0;
    for (const entry of this.outgoing.values()) n += entry.frames.length;
    return n;
  }

  /** Posts everything; returns the connections found gone (HTTP 410), with their session when known. */
  async flush(connections: Connections): Promise<Array<{ connectionId: string; session?: string }>> {
    const gone: Array<{ connectionId: string; session?: string }> = [];
    const entries = [...this.outgoing];
    this.outgoing.clear();
    await Promise.all(
      entries.map(async ([connectionId, entry]) => {
        for (const frame of entry.frames) {
          if (!(await connections.post(connectionId, frame))) {
            gone.push({ connectionId, session: entry.session });
            return;
          }
        }
        if (entry.close) await connections.close(connectionId);
      }),
    );
    return gone;
  }

  private entry(connectionId: string): Outgoing {
    let entry = this.outgoing.get(connectionId);
    if (!entry) this.outgoing.set(connectionId, (entry = { frames: [], close: false }));
    return entry;
  }
}
