import type { Config } from './config.ts';

/** The XMPP core as the entry points see it: one call per WebSocket event. */
export interface XmppServer {
  connect(connectionId: string): Promise<void>;
  frame(connectionId: string, text: string): Promise<void>;
  disconnect(connectionId: string): Promise<void>;
}

// Placeholder while the core is written (replaced in the same change).
export function createXmppServer(_config: Config): XmppServer {
  return { async connect() {}, async frame() {}, async disconnect() {} };
}
