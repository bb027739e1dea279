import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ScramState } from '../sasl/scram.ts';
import type { Db } from './client.ts';

/** One WebSocket connection's stream state (item CONN#<id> / CONN). */
export interface ConnectionState {
  id: string;
  /** Epoch ms of `$connect`. */
  connectedAt: number;
  /** The stream header of the current stream was received (a SASL success requires a new one). */
  opened: boolean;
  domain?: string;
  streamId?: string;
  /** The authenticated account, a bare JID. */
  user?: string;
  /** The bound full JID: the stream may exchange stanzas. */
  jid?: string;
  /** A SCRAM exchange waiting for the client's final message, and the account it is for. */
  scram?: ScramState & { user: string };
  saslFailures: number;
  /** A stream error or `<close/>` ended the stream; frames still queued behind it are ignored. */
  closed?: boolean;
}

// API Gateway ends every connection after 2 h; keep the item an hour longer, then TTL removes any leftover.
const ITEM_LIFETIME_S = 3 * 3600;

const key = (id: string) => ({ pk: `CONN#${id}`, sk: 'CONN' });

export class ConnectionStore {
  constructor(private readonly db: Db) {}

  async create(id: string, connectedAt = Date.now()): Promise<ConnectionState> {
    const state: ConnectionState = { id, connectedAt, opened: false, saslFailures: 0 };
    await this.put(state);
    return state;
  }

  async get(id: string): Promise<ConnectionState | undefined> {
    // Strongly consistent: the previous frame of this connection may have written it a moment ago.
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: key(id), ConsistentRead: true }));
    if (!Item || (typeof Item.expires === 'number' && Item.expires * 1000 < Date.now())) return undefined;
    return Item.state as ConnectionState;
  }

  async put(state: ConnectionState): Promise<void> {
    const expires = Math.floor(state.connectedAt / 1000) + ITEM_LIFETIME_S;
    await this.db.doc.send(new PutCommand({ TableName: this.db.table, Item: { ...key(state.id), state, expires } }));
  }

  async delete(id: string): Promise<void> {
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: key(id) }));
  }
}
