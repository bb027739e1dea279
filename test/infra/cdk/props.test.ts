import { App, Stack } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { HostedZone } from 'aws-cdk-lib/aws-route53';
import { describe, test } from 'vitest';
import { createApp } from '../../../infra/app.ts';
import { XmppDomain, XmppDomainPropsError, type XmppDomainProps } from '../../../infra/constructs/xmpp-domain.ts';
import { NO_BUNDLING } from './synth.ts';

/** Builds the construct and reports whether it was refused, and whether anything was added to the stack first. */
function build(props: (stack: Stack) => XmppDomainProps) {
  const stack = new Stack(new App({ context: NO_BUNDLING }), 'Test');
  const resolved = props(stack);
  const before = stack.node.children.length;
  try {
    new XmppDomain(stack, 'Xmpp', resolved);
    return { error: undefined, added: stack.node.children.length - before };
  } catch (error) {
    return { error, added: stack.node.findChild('Xmpp').node.children.length };
  }
}

describe('XmppDomain props are checked before anything is built', () => {
  const zone = (stack: Stack) => HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z1', zoneName: 'example.com' });
  test.for([
    ['no domain', () => ({ domains: [] }), 'at least one XMPP domain'],
    ['a JID for a domain', () => ({ domains: ['alice@example.com'] }), "'alice@example.com' is not a domain name"],
    ['a custom domain with neither certificate nor zone', () => ({ domains: ['example.com'], customDomain: { domainName: 'xmpp.example.com' } }), 'give a certificate, or a hostedZone'],
    ['a custom domain outside its hosted zone', (s: Stack) => ({ domains: ['example.com'], customDomain: { domainName: 'xmpp.example.net', hostedZone: zone(s) } }), 'xmpp.example.net is not in the hosted zone example.com'],
    ['a custom domain that is no host name', (s: Stack) => ({ domains: ['example.com'], customDomain: { domainName: 'xmpp example', certificate: Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:eu-west-1:1:certificate/x') } }), 'is not a host name'],
    ['a zero throttle', () => ({ domains: ['example.com'], throttle: { rateLimit: 0, burstLimit: 10 } }), 'must be positive'],
    ['stanzas over API Gateway’s 128 KB message', () => ({ domains: ['example.com'], maxStanzaBytes: 200_000 }), 'between 1024 and 131072'],
    ['fewer than one federation task', () => ({ domains: ['example.com'], federation: { minTasks: 0 } }), 'federation.minTasks: at least 1'],
    ['maxTasks below minTasks', () => ({ domains: ['example.com'], federation: { minTasks: 3, maxTasks: 2 } }), 'not below minTasks'],
    ['a route that is not host:port', () => ({ domains: ['example.com'], federation: { routes: { 'example.net': 'peer' } } }), "'peer' (for example.net) is not host:port"],
  ] as const)('%s is refused', ([, props, message], { expect }) => {
    const { error, added } = build(props as (stack: Stack) => XmppDomainProps);
    expect(error).toBeInstanceOf(XmppDomainPropsError);
    expect((error as Error).message).toContain(message);
    expect(added).toBe(0);
  });

  test('domains are prepared: lowercase, without duplicates', ({ expect }) => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Test');
    const xmpp = new XmppDomain(stack, 'Xmpp', { domains: ['Example.COM', 'example.com', 'chat.example.org'], federation: false });
    expect(xmpp.domains).toEqual(['example.com', 'chat.example.org']);
  });
});

describe('the app’s context (-c key=value)', () => {
  const app = (context: Record<string, string>) => () => createApp({ context: { ...NO_BUNDLING, domain: 'example.com', ...context } });
  test.for([
    ['federation=false with a TLS secret', { federation: 'false', tlsSecret: 'cirrus/tls' }, 'federation=false conflicts with tlsSecret'],
    ['a flag that is not true or false', { registration: 'yes' }, "context registration: true or false, not 'yes'"],
    ['a log retention CloudWatch does not offer', { logRetentionDays: '2' }, 'context logRetentionDays'],
    ['a hosted zone id without its name', { customDomain: 'xmpp.example.com', hostedZoneId: 'Z1' }, 'hostedZoneId and hostedZoneName go together'],
    ['a malformed s2s route', { s2sRoutes: 'example.net' }, "context s2sRoutes: domain=host:port, not 'example.net'"],
  ] as const)('%s fails the synth naming the key', ([, context, message], { expect }) => {
    expect(app(context)).toThrow(message);
  });

  test('without a domain, synthesizes for example.com with a warning saying how to give one', ({ expect }) => {
    const { app: built, stack } = createApp({ context: NO_BUNDLING });
    expect(stack.xmpp.domains).toEqual(['example.com']);
    const warnings = built.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringContaining('Deploy with -c domain=your.domain')]);
  });

  test('stackName names the stack', ({ expect }) => {
    expect(app({ stackName: 'XmppProd' })().stack.stackName).toBe('XmppProd');
  });
});
