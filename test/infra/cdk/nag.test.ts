import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations, type Stack } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { afterAll, describe, test } from 'vitest';
import { createApp } from '../../../infra/app.ts';
import { NO_BUNDLING } from './synth.ts';

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Report {
  pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
}

/** Synthesizes the app as `npx cdk synth -c …` does (cdk-nag AwsSolutions included) and reads its validation report. */
function nag(context: Record<string, string>, extend?: (stack: Stack) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'cirrus-nag-'));
  outdirs.push(outdir);
  const { app, stack } = createApp({ outdir, context: { ...NO_BUNDLING, domain: 'example.com', ...context } });
  extend?.(stack);
  let failure: unknown;
  try {
    app.synth();
  } catch (error) {
    failure = error;
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report;
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)),
  );
  return { failure, findings, stack, plugins: report.pluginReports.map((p) => p.pluginName) };
}

describe('cdk-nag AwsSolutions', () => {
  test.for([
    ['the defaults (federation with a created TLS secret)', {}],
    ['federation off', { federation: 'false' }],
    ['an imported TLS secret, static routes, no dialback with invalid certificates', { tlsSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cirrus/tls-AbCdEf', s2sRoutes: 'example.net=peer.example.net:5269', dialbackWithInvalidCert: 'false' }],
    ['a custom domain with a certificate', { customDomain: 'xmpp.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/1' }],
    ['a custom domain in a hosted zone (certificate and records created)', { customDomain: 'xmpp.example.com', hostedZoneId: 'Z123', hostedZoneName: 'example.com' }],
    ['tracing, registration, no API Gateway logging role, short logs, no deletion protection', { tracing: 'true', registration: 'true', apiGatewayCloudWatchRole: 'false', logRetentionDays: '7', deletionProtection: 'false' }],
  ] as const)('%s: zero unacknowledged findings', ([, context], { expect }) => {
    const { failure, findings, plugins } = nag(context);
    expect(plugins).toEqual([]); // a plugin appears in the report only when it found something
    expect(findings).toEqual([]);
    expect(failure).toBeUndefined();
  });

  test('a finding nobody acknowledged fails the synth (the check is live)', ({ expect }) => {
    const { failure, findings } = nag({ federation: 'false' }, (stack) => new Queue(stack, 'Unchecked'));
    expect(findings).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SQS3 at Cirrus\/Unchecked\//)]));
    expect(String(failure)).toMatch(/ValidationFailed/);
  });

  test('every acknowledgment has a written reason', ({ expect }) => {
    const { stack } = nag({});
    const acknowledged: Array<{ id: string; reason: string; path: string }> = [];
    const visit = (node: IConstruct) => {
      for (const entry of node.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
        // { "<source>::<rule id>": reason } per acknowledge() call.
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) acknowledged.push({ id, reason, path: node.node.path });
      }
      node.node.children.forEach(visit);
    };
    visit(stack);
    expect(acknowledged.map((a) => a.id)).toEqual(expect.arrayContaining(['Annotation::AwsSolutions-APIG4', 'Annotation::AwsSolutions-SMG4']));
    for (const { id, reason, path } of acknowledged) expect(reason.length, `${id} at ${path}`).toBeGreaterThan(40);
  });
});
