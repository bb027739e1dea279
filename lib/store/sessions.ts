import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './client.ts';

/** A bound resource (item USER#<bare> / RES#<resource>). */
export interface Session {
  /** Full JID. */
  jid: string;
  connectionId: string;
  /** Has sent available presence (RFC 6121 §4.2): only available resources get bare-JID messages. */
  available: boolean;
  priority: number;
  /** The last available presence broadcast, as XML. */
  presence?: string;
  boundAt: number;
}

const userKey = (bare: string) => `USER#${bare}`;
const split = (full: string) => {
  const slash = full.indexOf('/');
  return { bare: full.slice(0, slash), resource: full.slice(slash + 1) };
};
const key = (full: string) => {
  const { bare, resource } = split(full);
  return { pk: userKey(bare), sk: `RES#${resource}` };
};

export class SessionStore {
  constructor(private readonly db: Db) {}

  /** Binds a session; returns the session it replaced for the same full JID, if any (RFC 6120 §7.7.2.2). */
  async bind(session: Session): Promise<Session | undefined> {
    const { Attributes } = await this.db.doc.send(
      new PutCommand({ TableName: this.db.table, Item: { ...key(session.jid), ...session }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes ? toSession(Attributes) : undefined;
  }

  async get(full: string): Promise<Session | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: key(full), ConsistentRead: true }));
    return Item ? toSession(Item) : undefined;
  }

  /** Every bound resource of an account: one Query. */
  async list(bare: string): Promise<Session[]> {
    const { Items = [] } = await this.db.doc.send(
      new QueryCommand({
        TableName: this.db.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :res)',
        ExpressionAttributeValues: { ':pk': userKey(bare), ':res': 'RES#' },
        ConsistentRead: true,
      }),
    );
    return Items.map(toSession);
  }

  /** Records the session's presence; false if the session now belongs to another connection. */
  async setPresence(session: Session, presence: { available: boolean; priority: number; xml?: string }): Promise<boolean> {
    return this.ifOwned(
      new UpdateCommand({
        TableName: this.db.table,
        Key: key(session.jid),
        UpdateExpression: presence.xml
          ? 'SET available = :a, priority = :p, presence = :x'
          : 'SET available = :a, priority = :p REMOVE presence',
        ConditionExpression: 'connectionId = :c',
        ExpressionAttributeValues: {
          ':a': presence.available,
          ':p': presence.priority,
          ':c': session.connectionId,
          ...(presence.xml ? { ':x': presence.xml } : {}),
        },
      }),
    );
  }

  /** Removes the session unless a newer connection has taken the resource over. */
  async remove(full: string, connectionId: string): Promise<boolean> {
    return this.ifOwned(
      new DeleteCommand({
        TableName: this.db.table,
        Key: key(full),
        ConditionExpression: 'connectionId = :c',
        ExpressionAttributeValues: { ':c': connectionId },
      }),
    );
  }

  private async ifOwned(command: UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.db.doc.send(command as UpdateCommand);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function toSession(item: Record<string, unknown>): Session {
  return {
    jid: item.jid as string,
    connectionId: item.connectionId as string,
    available: item.available === true,
    priority: typeof item.priority === 'number' ? item.priority : 0,
    presence: typeof item.presence === 'string' ? item.presence : undefined,
    boundAt: item.boundAt as number,
  };
}
