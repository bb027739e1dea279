import type { Element } from '@xmpp/xml';
import type { Config } from '../config.ts';
import type { Accounts } from '../store/accounts.ts';
import type { ConnectionState } from '../store/connections.ts';
import type { SessionStore } from '../store/sessions.ts';
import type { Outbox } from '../transport/outbox.ts';

/** What one step of stream negotiation works with: the connection's state and its way out. */
export interface StreamIO {
  state: ConnectionState;
  config: Config;
  accounts: Accounts;
  sessions: SessionStore;
  out: Outbox;
  /** Sends to this connection. */
  send(element: Element): void;
}
