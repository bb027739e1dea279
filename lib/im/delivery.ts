import { StanzaError } from '../router/stanza-error.ts';
import type { StanzaContext, XmppModule } from '../router/types.ts';
import type { Session } from '../store/sessions.ts';

/**
 * RFC 6121 §8.5: delivery, the fallback under every other handler. A message no available resource can take
 * fires `message/offline`; if nobody stores it, the sender gets service-unavailable: never silence.
 */
export const delivery: XmppModule = {
  name: 'delivery',
  specs: [{ spec: 'RFC 6121 §8.5', title: 'Server rules for delivering messages, presence and IQs' }],
  register(r) {
    const LAST = -1000;
    r.on('message/full', toFullJid, LAST);
    r.on('iq/full', toFullJid, LAST);
    r.on('presence/full', toFullJid, LAST);
    r.on('message/bare', messageToBareJid, LAST);
    r.on('presence/bare', presenceToBareJid, LAST);
    for (const name of ['message', 'iq', 'presence']) r.on(`${name}/remote`, toRemote, LAST);
  },
};

async function toFullJid(ctx: StanzaContext): Promise<boolean> {
  const session = await ctx.services.sessions.get(ctx.to.toString());
  if (session) {
    ctx.services.deliver(session, ctx.stanza);
    return true;
  }
  // §8.5.3.2: the resource is not online.
  if (ctx.name === 'message' && ['normal', 'chat', 'headline'].includes(ctx.type)) return messageToBareJid(ctx);
  if (ctx.name === 'iq' && (ctx.type === 'get' || ctx.type === 'set')) throw new StanzaError('service-unavailable');
  return true; // presence, iq results and errors, groupchat and error messages: ignored (§8.5.3.2.1, §8.5.3.2.2)
}

async function messageToBareJid(ctx: StanzaContext): Promise<boolean> {
  const { type } = ctx;
  if (type === 'error') return true; // §8.5.2.1.1: never answered
  if (type === 'groupchat') throw new StanzaError('service-unavailable');
  const bare = ctx.to.bare.toString();
  const sessions = await ctx.services.sessions.list(bare);
  const targets = mostAvailable(sessions, type === 'headline');
  if (targets.length > 0) {
    for (const session of targets) ctx.services.deliver(session, ctx.stanza);
    return true;
  }
  if (type === 'headline') return true; // §8.5.2.2.1: headlines to nobody are ignored
  if (sessions.length === 0 && !(await ctx.services.accounts.get(bare))) throw new StanzaError('service-unavailable'); // §8.5.1
  if (await ctx.services.fire('message/offline', ctx)) return true; // §8.5.2.2.1: stored for later
  throw new StanzaError('service-unavailable', 'the recipient is not available');
}

/**
 * §8.5.2.1.1: normal and chat go to the available resource(s) of highest non-negative priority;
 * headline to every available resource of non-negative priority.
 */
function mostAvailable(sessions: Session[], all: boolean): Session[] {
  const eligible = sessions.filter((s) => s.available && s.priority >= 0);
  if (all || eligible.length === 0) return eligible;
  const top = Math.max(...eligible.map((s) => s.priority));
  return eligible.filter((s) => s.priority === top);
}

async function presenceToBareJid(ctx: StanzaContext): Promise<boolean> {
  // §8.5.2.1.2: presence to a user goes to each available resource (subscriptions and probes are handled before).
  for (const session of await ctx.services.sessions.list(ctx.to.bare.toString())) {
    if (session.available) ctx.services.deliver(session, ctx.stanza);
  }
  return true;
}

async function toRemote(ctx: StanzaContext): Promise<boolean> {
  if (ctx.services.s2s) {
    await ctx.services.s2s.enqueue(ctx.stanza);
    return true;
  }
  // Federation is off (RFC 6120 §8.3.3.15).
  if (ctx.name === 'presence') return true;
  throw new StanzaError('remote-server-not-found');
}
