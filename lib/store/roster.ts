import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './client.ts';
import { queryAll } from './bulk.ts';

export type Subscription = 'none' | 'to' | 'from' | 'both';

/**
 * A contact as RFC 6121 keeps it (item USER#<bare> / ROSTER#<contact bare>). One item also carries the states
 * the client does not see as roster items: a pending inbound request, a pre-approval (Appendix A).
 */
export interface RosterItem {
  jid: string;
  name?: string;
  groups: string[];
  subscription: Subscription;
  /** Pending out: the user asked to subscribe (§3.1.2). */
  ask: boolean;
  /** Pending in: the contact asked; the request is kept until answered (§3.1.3). */
  pendingIn?: string;
  /** Pre-approved: a request from the contact will be accepted at once (§3.4). */
  approved: boolean;
  /** Shown to the client: added by the user, or by a subscription it made. */
  inRoster: boolean;
}

export interface Roster {
  /** XEP-0237 / RFC 6121 §2.6 roster version: raised by every change. */
  ver: number;
  items: RosterItem[];
}

const pk = (bare: string) => `USER#${bare}`;
const VERSION_SK = 'ROSTER';
const sk = (contact: string) => `ROSTER#${contact}`;

export class RosterStore {
  constructor(private readonly db: Db) {}

  /** The version and every item: one Query (the version item sorts just before the items). */
  async list(bare: string): Promise<Roster> {
    const roster: Roster = { ver: 0, items: [] };
    const items = await queryAll(this.db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :roster)',
      ExpressionAttributeValues: { ':pk': pk(bare), ':roster': VERSION_SK },
      ConsistentRead: true,
    });
    for (const item of items) {
      if (item.sk === VERSION_SK) roster.ver = item.ver as number;
      else roster.items.push(toItem(item));
    }
    return roster;
  }

  async get(bare: string, contact: string): Promise<RosterItem | undefined> {
    const { Item } = await this.db.doc.send(
      new GetCommand({ TableName: this.db.table, Key: { pk: pk(bare), sk: sk(contact) }, ConsistentRead: true }),
    );
    return Item ? toItem(Item) : undefined;
  }

  /** Writes an item (or removes it, when it holds no state at all); returns the new roster version. */
  async save(bare: string, item: RosterItem): Promise<number> {
    const ver = await this.bump(bare);
    const empty = !item.inRoster && item.subscription === 'none' && !item.ask && !item.pendingIn && !item.approved;
    const Key = { pk: pk(bare), sk: sk(item.jid) };
    if (empty) await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key }));
    else await this.db.doc.send(new PutCommand({ TableName: this.db.table, Item: { ...Key, ...item } }));
    return ver;
  }

  async remove(bare: string, contact: string): Promise<number> {
    const ver = await this.bump(bare);
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: { pk: pk(bare), sk: sk(contact) } }));
    return ver;
  }

  private async bump(bare: string): Promise<number> {
    const { Attributes } = await this.db.doc.send(
      new UpdateCommand({
        TableName: this.db.table,
        Key: { pk: pk(bare), sk: VERSION_SK },
        UpdateExpression: 'ADD ver :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Attributes!.ver as number;
  }
}

function toItem(item: Record<string, unknown>): RosterItem {
  return {
    jid: item.jid as string,
    name: typeof item.name === 'string' ? item.name : undefined,
    groups: Array.isArray(item.groups) ? (item.groups as string[]) : [],
    subscription: (item.subscription as Subscription) ?? 'none',
    ask: item.ask === true,
    pendingIn: typeof item.pendingIn === 'string' ? item.pendingIn : undefined,
    approved: item.approved === true,
    inRoster: item.inRoster === true,
  };
}

/** A fresh item for a contact the user has no state with. */
export function emptyItem(jid: string): RosterItem {
  return { jid, groups: [], subscription: 'none', ask: false, approved: false, inRoster: false };
}
