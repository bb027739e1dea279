import xml, { type Element } from '@xmpp/xml';
import type { Config } from './config.ts';
import { delivery } from './im/delivery.ts';
import { offline } from './im/offline.ts';
import { presence } from './im/presence.ts';
import { roster } from './im/roster.ts';
import { subscriptions } from './im/subscriptions.ts';
import { parseJid, tryParseJid, type Jid } from './jid.ts';
import { Router } from './router/router.ts';
import { errorReply, StanzaError } from './router/stanza-error.ts';
import type { Scope, Services, StanzaContext, StanzaName, XmppModule } from './router/types.ts';
import { Accounts } from './store/accounts.ts';
import { createDb, type Db } from './store/client.ts';
import { ConnectionStore, type ConnectionState } from './store/connections.ts';
import { OfflineStore } from './store/offline.ts';
import { RosterStore } from './store/roster.ts';
import { SessionStore, SessionView } from './store/sessions.ts';
import { handleFrame } from './stream/client-stream.ts';
import type { StreamIO } from './stream/io.ts';
import { legacySession } from './stream/session-module.ts';
import { apiGatewayConnections, type Connections } from './transport/connections.ts';
import { Outbox } from './transport/outbox.ts';
import { NS } from './xml/namespaces.ts';
import { disco } from './xep/0030-disco.ts';
import { version } from './xep/0092-version.ts';
import { ping } from './xep/0199-ping.ts';

/** Every module of the server, in one place. The router imports none of them. */
export const MODULES: XmppModule[] = [disco, ping, version, legacySession, roster, subscriptions, presence, offline, delivery];

/** The XMPP core as the entry points see it: one call per WebSocket event, and one per stanza from a peer server. */
export interface XmppServer {
  connect(connectionId: string): Promise<void>;
  frame(connectionId: string, text: string): Promise<void>;
  disconnect(connectionId: string): Promise<void>;
  /**
   * A stanza from another server, whose `from` domain the federation service has authenticated and whose `to`
   * is one of our domains: routed like any other (RFC 6120 §10.4), replies go back through `s2s`.
   */
  inbound(stanza: Element): Promise<void>;
}

/** Where stanzas for other domains go: SQS in AWS, an in-process queue locally; the federation service drains it. */
export interface S2sQueue {
  enqueue(stanza: Element): Promise<void>;
}

export interface Ports {
  db: Db;
  connections: Connections;
  /** Without it, stanzas to other domains get remote-server-not-found. */
  s2s: S2sQueue;
}

interface Work {
  out: Outbox;
  sessions: SessionView;
}

// A bound connection's state cannot change any more (only end): kept per container, it spares a read per stanza.
const MAX_CACHED_CONNECTIONS = 10_000;

export function createXmppServer(config: Config, ports: Partial<Ports> = {}): XmppServer {
  const db = ports.db ?? createDb({ tableName: config.tableName, endpoint: config.dynamodbEndpoint, region: config.region });
  const connections = ports.connections ?? apiGatewayConnections(config.wsEndpoint, config.region);
  const connectionStore = new ConnectionStore(db);
  const sessions = new SessionStore(db);
  const accounts = new Accounts(db);
  const rosters = new RosterStore(db);
  const offlineStore = new OfflineStore(db, config.offlineLimit, config.offlineRetentionDays * 86_400);
  const router = new Router(MODULES);
  const bound = new Map<string, ConnectionState>();

  /** Routes one stanza whose `from` is already stamped; `target` overrides its `to` for routing only. */
  async function route(stanza: Element, from: Jid, work: Work, originConnectionId?: string, target?: Jid): Promise<void> {
    const { out } = work;
    const name = stanza.name as StanzaName;
    const type = stanza.attrs.type ?? (name === 'message' ? 'normal' : name === 'presence' ? 'available' : '');
    const reply = async (element: Element) =>
      originConnectionId ? out.send(originConnectionId, element) : route(element, parseJid(element.attrs.from), work);
    const services: Services = {
      config,
      s2s: ports.s2s,
      accounts,
      sessions: work.sessions,
      roster: rosters,
      offline: offlineStore,
      deliver: (session, element) => out.send(session.connectionId, element, session.jid),
      route: (element) => route(element, parseJid(element.attrs.from), work),
      fire: (event, ctx) => router.fire(event, ctx),
      disco: () => router.disco(),
    };
    let to: Jid | undefined;
    let scope: Scope;
    if (target) {
      to = target;
      scope = 'full';
    } else if (stanza.attrs.to === undefined) {
      // RFC 6120 §10.3: no `to` means the sender's own account; presence without `to` is a broadcast.
      to = from.bare;
      scope = name === 'presence' ? 'broadcast' : 'bare';
    } else {
      to = tryParseJid(stanza.attrs.to);
      if (!to) {
        const error = errorReply(stanza, new StanzaError('jid-malformed'));
        if (error && name !== 'presence') await reply(error);
        return;
      }
      scope = !config.domains.includes(to.domain) ? 'remote' : !to.local ? 'host' : to.isBare ? 'bare' : 'full';
    }
    if (name === 'iq' && !['get', 'set', 'result', 'error'].includes(type)) {
      const error = errorReply(stanza, new StanzaError('bad-request', 'an IQ needs a type'));
      if (error) await reply(error);
      return;
    }
    const ctx: StanzaContext = { stanza, name, type, from, to, scope, originConnectionId, services, reply };
    await router.route(ctx);
  }

  /** Posts what the outbox holds; what meets a gone connection is routed again, a bounded number of times. */
  async function flush(work: Work): Promise<void> {
    for (let round = 0; round < 3 && !work.out.empty; round++) {
      const { gone, undelivered } = await work.out.flush(connections);
      // Gone (HTTP 410): its `$disconnect` may come late; end the session now, which that `$disconnect` then finds done.
      for (const { connectionId, session } of gone) if (session) await endSession(session, connectionId, work);
      // RFC 6121 §8.5.3.2: as if the resource had not been online (a message tries the other resources, an IQ errors).
      for (const { stanza, session } of undelivered) await route(stanza, parseJid(stanza.attrs.from), work, undefined, parseJid(session));
    }
  }

  /** RFC 6121 §4.5.2: however a session ends, its contacts learn it is unavailable; then it is gone. */
  async function endSession(jid: string, connectionId: string, work: Work): Promise<void> {
    await route(xml('presence', { xmlns: NS.client, type: 'unavailable', from: jid }), parseJid(jid), work, connectionId);
    await work.sessions.remove(jid, connectionId);
  }

  /** What handling one event works with: its outbox, and its view of the sessions. */
  const newWork = (): Work => ({ out: new Outbox(), sessions: new SessionView(sessions) });

  return {
    async connect(connectionId) {
      await connectionStore.create(connectionId);
    },

    async frame(connectionId, text) {
      const state = bound.get(connectionId) ??
        (await connectionStore.get(connectionId)) ?? { id: connectionId, connectedAt: Date.now(), opened: false, saslFailures: 0 };
      const before = JSON.stringify(state);
      const work = newWork();
      const { out } = work;
      const io: StreamIO = { state, config, accounts, sessions, out, send: (element) => out.send(connectionId, element) };
      await handleFrame(io, text, async (stanza) => {
        // RFC 6120 §8.1.2.1: the server stamps `from` with the stream's full JID, whatever the client wrote.
        const from = parseJid(state.jid!);
        stanza.attrs.from = from.toString();
        await route(stanza, from, work, connectionId);
      });
      if (JSON.stringify(state) !== before) await connectionStore.put(state);
      if (state.jid && !state.closed) {
        if (bound.size >= MAX_CACHED_CONNECTIONS) bound.delete(bound.keys().next().value!);
        bound.set(connectionId, state);
      } else bound.delete(connectionId);
      await flush(work);
    },

    async inbound(stanza) {
      const work = newWork();
      await route(stanza, parseJid(stanza.attrs.from), work);
      await flush(work);
    },

    async disconnect(connectionId) {
      bound.delete(connectionId);
      const state = await connectionStore.get(connectionId);
      if (state?.jid) {
        const work = newWork();
        await endSession(state.jid, connectionId, work);
        await flush(work);
      }
      await connectionStore.delete(connectionId);
    },
  };
}
