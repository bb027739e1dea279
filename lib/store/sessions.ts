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
  /** Asked for the roster, so it gets roster pushes (RFC 6121 §2.1.6 "interested resource"). */
  rosterRequested: boolean;
  /** Where it sent directed available presence (RFC 6121 §4.6): they get its unavailable presence too. */
  directed: string[];
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

  /**
   * Changes some of the session's attributes; false if the resource now belongs to another connection.
   * `presence: undefined` removes the stored presence.
   */
  async update(session: Session, changes: Partial<Pick<Session, 'available' | 'priority' | 'presence' | 'rosterRequested' | 'directed'>>): Promise<boolean> {
    const set: string[] = [];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':c': session.connectionId };
    const names: Record<string, string> = {};
    for (const [field, value] of Object.entries(changes)) {
      names[`#${field}`] = field;
      if (value === undefined) remove.push(`#${field}`);
      else {
        set.push(`#${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    const expression = [set.length ? `SET ${set.join(', ')}` : '', remove.length ? `REMOVE ${remove.join(', ')}` : ''].join(' ').trim();
    try {
      await this.db.doc.send(
        new UpdateCommand({
          TableName: this.db.table,
          Key: key(session.jid),
          UpdateExpression: expression,
          ConditionExpression: 'connectionId = :c',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      Object.assign(session, changes);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Removes the session unless a newer connection has taken the resource over; returns what was removed. */
  async remove(full: string, connectionId: string): Promise<Session | undefined> {
    try {
      const { Attributes } = await this.db.doc.send(
        new DeleteCommand({
          TableName: this.db.table,
          Key: key(full),
          ConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': connectionId },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes ? toSession(Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
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
    rosterRequested: item.rosterRequested === true,
    directed: Array.isArray(item.directed) ? (item.directed as string[]) : [],
    boundAt: item.boundAt as number,
  };
}

/** What handlers use of the sessions: the store, or a view of it for one frame's work. */
export type Sessions = Pick<SessionStore, 'get' | 'list' | 'update' | 'remove'>;

/**
 * The sessions as one frame's work sees them: each user's sessions are read once (one Query), however many
 * stanzas of the frame go to that user; updates made through the view change the sessions it holds.
 */
export class SessionView implements Sessions {
  private readonly lists = new Map<string, Promise<Session[]>>();

  constructor(private readonly store: SessionStore) {}

  list(bare: string): Promise<Session[]> {
    let list = this.lists.get(bare);
    if (!list) this.lists.set(bare, (list = this.store.list(bare)));
    return list;
  }

  async get(full: string): Promise<Session | undefined> {
    const bare = full.slice(0, full.indexOf('/'));
    const listed = this.lists.get(bare);
    return listed ? (await listed).find((s) => s.jid === full) : this.store.get(full);
  }

  update(session: Session, changes: Parameters<SessionStore['update']>[1]): Promise<boolean> {
    return this.store.update(session, changes);
  }

  async remove(full: string, connectionId: string): Promise<Session | undefined> {
    this.lists.delete(full.slice(0, full.indexOf('/')));
    return this.store.remove(full, connectionId);
  }
}
