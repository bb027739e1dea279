import { randomBytes } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import { tryParseJid } from '../jid.ts';
import { handleRegistration, registrationFeature } from '../xep/0077-register.ts';
import { NS } from '../xml/namespaces.ts';
import { FrameError, parseFrame } from '../xml/parse-frame.ts';
import { boundFeatures, handleBind } from './bind.ts';
import type { StreamIO } from './io.ts';
import { handleSasl, mechanismsFeature } from './sasl.ts';
import { StreamError, streamErrorElement, type StreamErrorCondition } from './stream-error.ts';

const STANZAS = new Set(['message', 'presence', 'iq']);

/**
 * One RFC 7395 frame on a client stream. Negotiation (open, SASL, bind) happens here;
 * stanzas of a bound stream go to `route`. Client input never throws out of here: it ends in a
 * stream error. What does throw (DynamoDB, the network) is for the caller to retry.
 */
export async function handleFrame(io: StreamIO, text: string, route: (stanza: Element) => Promise<void>): Promise<void> {
  if (io.state.closed) return; // frames queued behind the end of the stream
  try {
    const element = parseFrame(text, io.config.maxStanzaBytes);
    if (!element) return;
    if (!io.state.jid && Date.now() - io.state.connectedAt > io.config.negotiationTimeoutMs) {
      throw new StreamError('connection-timeout', 'the stream was not negotiated in time');
    }
    await handleElement(io, element, route);
  } catch (error) {
    if (error instanceof FrameError || error instanceof StreamError) return endWithError(io, error.condition, error.message);
    throw error;
  }
}

async function handleElement(io: StreamIO, element: Element, route: (stanza: Element) => Promise<void>): Promise<void> {
  const ns = element.getNS();
  if (element.name === 'open') return open(io, element);
  if (element.name === 'close' && ns === NS.framing) return close(io);
  if (ns === NS.sasl) {
    if (!io.state.opened) throw new StreamError('not-authorized', 'open the stream first');
    return handleSasl(io, element);
  }
  if (!STANZAS.has(element.name)) throw new StreamError('unsupported-stanza-type', `<${element.name}/> is not understood here`);
  if (ns !== NS.client) throw new StreamError('invalid-namespace', `stanzas are in the ${NS.client} namespace`);
  if (io.state.jid) return route(element);
  if (io.state.opened && element.name === 'iq') {
    if (io.state.user) return handleBind(io, element);
    if (io.config.allowRegistration && element.getChild('query', NS.register)) return handleRegistration(io, element);
  }
  throw new StreamError('not-authorized', 'stanza before authentication');
}

/** RFC 7395 §3.4: open (or, after SASL, reopen) the stream and offer what may come next. */
function open(io: StreamIO, element: Element): void {
  if (element.getNS() !== NS.framing) throw new StreamError('invalid-namespace', `<open/> is in the ${NS.framing} namespace`);
  // RFC 6120 §4.7.2: without `to` we may pick the default domain.
  const domain = element.attrs.to === undefined ? io.config.domains[0]! : tryParseJid(element.attrs.to)?.domain;
  if (!domain || !io.config.domains.includes(domain) || (io.state.domain && io.state.domain !== domain)) {
    throw new StreamError('host-unknown', `this server does not serve ${element.attrs.to}`);
  }
  io.state.domain = domain;
  // RFC 6120 §4.7.5: any 1.x is answered as 1.0; no version means 0.9, which we do not speak.
  if (!/^1\.\d+$/.test(element.attrs.version ?? '')) throw new StreamError('unsupported-version', 'XMPP 1.0 is required');
  sendOpen(io);
  const features = io.state.user
    ? boundFeatures()
    : [mechanismsFeature(), ...(io.config.allowRegistration ? [registrationFeature()] : [])];
  io.send(xml('stream:features', { 'xmlns:stream': NS.stream }, ...features));
}

function sendOpen(io: StreamIO): void {
  io.state.opened = true;
  io.state.streamId = randomBytes(12).toString('base64url');
  io.send(
    xml('open', {
      xmlns: NS.framing,
      from: io.state.domain ?? io.config.domains[0],
      id: io.state.streamId,
      version: '1.0',
      'xml:lang': 'en',
    }),
  );
}

/** RFC 7395 §3.6: answer `<close/>` with `<close/>`, then the server ends the connection. */
function close(io: StreamIO): void {
  io.send(xml('close', { xmlns: NS.framing }));
  io.out.close(io.state.id);
  io.state.closed = true;
}

/** RFC 6120 §4.9.1: a stream error ends the stream; before our stream header, send one first (§4.9.1.2). */
function endWithError(io: StreamIO, condition: StreamErrorCondition, text?: string): void {
  if (!io.state.opened) sendOpen(io);
  io.send(streamErrorElement(condition, text));
  close(io);
}
