import xml from '@xmpp/xml';
import { NS } from '../xml/namespaces.ts';
import { errorReply, StanzaError } from './stanza-error.ts';
import type { Handler, Identity, IqHandler, Registry, StanzaContext, XmppModule } from './types.ts';

/**
 * Stanza events, named from kind and address as Prosody's stanza_router does:
 * `iq/<scope>/<type>/<payload ns>`, then `iq/<scope>`; `message/<scope>`; `presence/<scope>`.
 * Handlers run by descending priority until one returns true.
 */
export class Router implements Registry {
  private readonly handlers = new Map<string, Array<{ handler: Handler; priority: number }>>();
  private readonly features = new Set<string>();
  private readonly identities: Identity[] = [];

  constructor(readonly modules: XmppModule[]) {
    for (const module of modules) module.register(this);
  }

  on(event: string, handler: Handler, priority = 0): void {
    const list = this.handlers.get(event) ?? [];
    list.push({ handler, priority });
    list.sort((a, b) => b.priority - a.priority);
    this.handlers.set(event, list);
  }

  iq(type: 'get' | 'set', scope: 'host' | 'bare', ns: string, handler: IqHandler): void {
    this.on(`iq/${scope}/${type}/${ns}`, async (ctx) => {
      const payload = ctx.stanza.getChildElements()[0]!;
      const result = await handler(ctx, payload);
      await ctx.reply(
        xml('iq', { xmlns: NS.client, type: 'result', id: ctx.stanza.attrs.id, from: ctx.stanza.attrs.to, to: ctx.stanza.attrs.from }, ...(result ? [result] : [])),
      );
      return true;
    });
  }

  feature(...features: string[]): void {
    for (const feature of features) this.features.add(feature);
  }

  identity(identity: Identity): void {
    this.identities.push(identity);
  }

  disco() {
    return { identities: [...this.identities], features: [...this.features].sort() };
  }

  /** Runs an event's handlers in order until one handles it. */
  async fire(event: string, ctx: StanzaContext): Promise<boolean> {
    for (const { handler } of this.handlers.get(event) ?? []) {
      if (await handler(ctx)) return true;
    }
    return false;
  }

  async route(ctx: StanzaContext): Promise<void> {
    const { stanza, name, type, scope } = ctx;
    const requestIq = name === 'iq' && (type === 'get' || type === 'set');
    const events = [`${name}/${scope}`];
    // A client's addressed presence is first its sender's business (roster, directed presence), then the recipient's.
    if (name === 'presence' && ctx.originConnectionId && scope !== 'broadcast') events.unshift('presence/outbound');
    if (requestIq) {
      const payloads = stanza.getChildElements();
      // RFC 6120 §8.2.3: an IQ request carries exactly one payload element.
      if (payloads.length !== 1) return await this.fail(ctx, new StanzaError('bad-request', 'an IQ request has exactly one child'));
      if (scope === 'host' || scope === 'bare') events.unshift(`iq/${scope}/${type}/${payloads[0]!.getNS()}`);
    }
    try {
      for (const event of events) {
        if (await this.fire(event, ctx)) return;
      }
    } catch (error) {
      if (error instanceof StanzaError) return await this.fail(ctx, error);
      console.error(JSON.stringify({ level: 'error', msg: 'handler failed', event: events[0], error: String((error as Error).stack ?? error) }));
      return await this.fail(ctx, new StanzaError('internal-server-error'));
    }
    // Nobody took it. RFC 6120 §8.2.3 and RFC 6121 §8.5: requests and messages get an error, never silence.
    if (requestIq || name === 'message') await this.fail(ctx, new StanzaError('service-unavailable'));
  }

  private async fail(ctx: StanzaContext, error: StanzaError): Promise<void> {
    // RFC 6121 §4.3, §8.5: where presence cannot be handled it is ignored, not bounced.
    if (ctx.name === 'presence') return;
    const reply = errorReply(ctx.stanza, error);
    if (reply) await ctx.reply(reply);
  }
}
