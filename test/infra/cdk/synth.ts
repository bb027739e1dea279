import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../../infra/app.ts';
import { XmppDomain, type XmppDomainProps } from '../../../infra/constructs/xmpp-domain.ts';

/**
 * cdk.json's context (the feature flags `npx cdk` passes to the app), and an empty bundling list: Lambda bundles
 * are not under test here, and skipping esbuild keeps synth fast.
 */
const cdkJson = JSON.parse(readFileSync(fileURLToPath(new URL('../../../cdk.json', import.meta.url)), 'utf8')) as { context: Record<string, unknown> };
export const NO_BUNDLING = { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };

/** The deployable app exactly as `npx cdk synth -c key=value …` builds it, cdk-nag included. */
export function synthApp(context: Record<string, string> = {}) {
  const { app, stack } = createApp({ context: { ...NO_BUNDLING, domain: 'example.com', ...context } });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The XmppDomain construct alone, in a stack of one's own (as a user's CDK app would use it). */
export function synthConstruct(props: XmppDomainProps | ((stack: Stack) => XmppDomainProps)) {
  const app = new App({ context: NO_BUNDLING });
  const stack = new Stack(app, 'Test');
  const xmpp = new XmppDomain(stack, 'Xmpp', typeof props === 'function' ? props(stack) : props);
  return { stack, xmpp, template: Template.fromStack(stack) };
}
