import type { Element } from '@xmpp/xml';
import type { DialbackOutcome } from './dialback.ts';
import { OutboundFailure, OutboundStream, type OutboundContext } from './outbound.ts';

export type SendResult = 'sent' | 'bounced' | 'dropped';

interface Queued {
  stanza: Element;
  resolve(result: SendResult): void;
  reject(error: Error): void;
  deadline: NodeJS.Timeout;
}

interface Route {
  local: string;
  remote: string;
  stream: OutboundStream | undefined;
  queue: Queued[];
  attempts: number;
  lastFailure: OutboundFailure | undefined;
  retryTimer: NodeJS.Timeout | undefined;
}

export interface PoolOptions {
  retryWindowMs: number;
  /** Settings for each stream, without the domain pair. */
  stream: Omit<OutboundContext, 'local' | 'remote'>;
  /** An undeliverable stanza, with the condition to bounce it with (the pool does not build the error). */
  undeliverable(stanza: Element, failure: OutboundFailure): Promise<SendResult>;
}

const MAX_BACKOFF_MS = 60_000;

/**
 * Outbound streams, one per (our domain, remote domain) pair (XEP-0220 §2.1.1): stanzas wait in order while
 * the stream is negotiated, failed attempts are retried with exponential backoff, and a stanza still waiting
 * when its retry window ends is handed back as undeliverable.
 */
export class OutboundPool {
  private readonly routes = new Map<string, Route>();
  private closed = false;

  constructor(private readonly options: PoolOptions) {}

  get openStreams(): number {
    let n = 0;
    for (const route of this.routes.values()) if (route.stream?.isReady) n++;
    return n;
  }

  /** Where each ready stream stands, for tests and logs. */
  authentication(local: string, remote: string): OutboundStream['authentication'] {
    return this.routes.get(`${local} ${remote}`)?.stream?.authentication;
  }

  send(local: string, remote: string, stanza: Element): Promise<SendResult> {
    if (this.closed) return Promise.reject(new Error('federation closed'));
    const route = this.route(local, remote);
    if (route.stream?.isReady && route.queue.length === 0) {
      route.stream.send(stanza);
      return Promise.resolve('sent');
    }
    return new Promise((resolve, reject) => {
      const item: Queued = {
        stanza,
        resolve,
        reject,
        deadline: setTimeout(() => this.expire(route, item), this.options.retryWindowMs),
      };
      route.queue.push(item);
      this.ensureStream(route);
    });
  }

  /** Receiving-server role (XEP-0220 §2.1.2): db:verify over the stream from `receiving` to `originating`. */
  async verify(receiving: string, originating: string, streamId: string, key: string): Promise<DialbackOutcome> {
    if (this.closed) return { error: 'remote-server-timeout' };
    const route = this.route(receiving, originating);
    const stream = this.ensureStream(route);
    return stream.verify(receiving, streamId, key);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const route of this.routes.values()) {
      clearTimeout(route.retryTimer);
      for (const item of route.queue.splice(0)) {
        clearTimeout(item.deadline);
        // Not a network failure: the caller keeps the stanza (it stays in SQS) for the next task.
        item.reject(new Error('federation closed'));
      }
      route.stream?.close();
    }
  }

  private route(local: string, remote: string): Route {
    const key = `${local} ${remote}`;
    let route = this.routes.get(key);
    if (!route) {
      route = { local, remote, stream: undefined, queue: [], attempts: 0, lastFailure: undefined, retryTimer: undefined };
      this.routes.set(key, route);
    }
    return route;
  }

  private ensureStream(route: Route): OutboundStream {
    if (route.stream && !route.stream.isClosed) return route.stream;
    clearTimeout(route.retryTimer);
    route.retryTimer = undefined;
    // A stream that ends after it was ready is simply gone: the next stanza opens a new one.
    const stream = new OutboundStream({ ...this.options.stream, local: route.local, remote: route.remote }, () => undefined);
    route.stream = stream;
    stream.ready.then(
      () => {
        route.attempts = 0;
        route.lastFailure = undefined;
        this.flush(route);
      },
      (failure: OutboundFailure) => {
        route.attempts++;
        route.lastFailure = failure;
        this.scheduleRetry(route);
      },
    );
    return stream;
  }

  private flush(route: Route) {
    const stream = route.stream;
    while (stream?.isReady && route.queue.length > 0) {
      const item = route.queue.shift()!;
      clearTimeout(item.deadline);
      stream.send(item.stanza);
      item.resolve('sent');
    }
  }

  private scheduleRetry(route: Route) {
    if (this.closed || route.queue.length === 0 || route.retryTimer) return;
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(route.attempts - 1, 10));
    route.retryTimer = setTimeout(() => {
      route.retryTimer = undefined;
      if (route.queue.length > 0) this.ensureStream(route);
    }, delay);
    route.retryTimer.unref();
  }

  private expire(route: Route, item: Queued) {
    const index = route.queue.indexOf(item);
    if (index === -1) return;
    route.queue.splice(index, 1);
    // Still connecting when the window ends: it reached the network, so it is a timeout (RFC 6120 §8.3.3.17).
    const failure = route.lastFailure ?? new OutboundFailure('remote-server-timeout', 'still connecting when the retry window ended');
    this.options.undeliverable(item.stanza, failure).then(item.resolve, item.reject);
  }
}
