import type { Element } from '@xmpp/xml';
import type { Config } from '../config.ts';
import type { Jid } from '../jid.ts';
import type { Accounts } from '../store/accounts.ts';
import type { OfflineStore } from '../store/offline.ts';
import type { RosterStore } from '../store/roster.ts';
import type { Session, Sessions } from '../store/sessions.ts';

/** Where a stanza is addressed, from the server's point of view (RFC 6120 §10); `broadcast` is presence without `to` (§10.3.2). */
export type Scope = 'host' | 'bare' | 'full' | 'remote' | 'broadcast';
export type StanzaName = 'message' | 'presence' | 'iq';

/** What handlers may use: state through stores, output through deliver/route. */
export interface Services {
  config: Config;
  accounts: Accounts;
  sessions: Sessions;
  roster: RosterStore;
  offline: OfflineStore;
  /** Sends a stanza to one bound session's connection. */
  deliver(session: Session, stanza: Element): void;
  /** Stanzas for other domains, when federation is on. */
  s2s?: { enqueue(stanza: Element): Promise<void> };
  /** Routes a server-made stanza (its `from` already set) like any other. */
  route(stanza: Element): Promise<void>;
  /** Runs the handlers of a named event (e.g. `message/offline`) with this context; true if one handled it. */
  fire(event: string, ctx: StanzaContext): Promise<boolean>;
  /** disco#info of the server: the fold of what the modules registered. */
  disco(): { identities: Identity[]; features: string[] };
}

export interface StanzaContext {
  /** The stanza, its `from` already stamped by the server. */
  stanza: Element;
  name: StanzaName;
  /** The type attribute, or its default: `normal` for message, `available` for presence. */
  type: string;
  from: Jid;
  /** The addressee; for a stanza without `to`, the sender's bare JID (RFC 6120 §10.3). */
  to: Jid;
  scope: Scope;
  /** The sender's own connection, when it is a local client: replies go straight there. */
  originConnectionId?: string;
  services: Services;
  /** Sends a stanza back to the sender. */
  reply(stanza: Element): Promise<void>;
}

/** Returns true when it handled the stanza; later handlers are then not called. */
export type Handler = (ctx: StanzaContext) => Promise<boolean | void> | boolean | void;

/** Returns the result's payload (or nothing for an empty result); throws StanzaError to answer an error. */
export type IqHandler = (ctx: StanzaContext, payload: Element) => Promise<Element | void> | Element | void;

export interface Identity {
  category: string;
  type: string;
  name?: string;
}

/** What a module registers with; modules import these types and nothing else of the router. */
export interface Registry {
  on(event: string, handler: Handler, priority?: number): void;
  iq(type: 'get' | 'set', scope: 'host' | 'bare', ns: string, handler: IqHandler): void;
  feature(...features: string[]): void;
  identity(identity: Identity): void;
}

/** One protocol extension (one XEP, one RFC part): its metadata and what it hooks. */
export interface XmppModule {
  name: string;
  /** The specifications it implements, for the README table. */
  specs: Array<{ spec: string; title: string; status?: string }>;
  register(registry: Registry): void;
}
