import { fileURLToPath } from 'node:url';
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CirrusStack, cirrusStackPropsFromContext } from './constructs/cirrus-stack.ts';

/**
 * The CDK app (cdk.json runs this file): one CirrusStack configured from context, checked by cdk-nag's
 * AwsSolutions rules, whose unacknowledged findings fail the synth.
 *
 *   npx cdk deploy -c domain=example.com [-c registration=true] [-c tlsSecret=ARN | -c federation=false] …  (README, Deploy to AWS)
 */
export function createApp(props?: AppProps): { app: App; stack: CirrusStack } {
  const app = new App(props);
  const { stackName, ...stackProps } = cirrusStackPropsFromContext(app.node, app);
  const stack = new CirrusStack(app, stackName, stackProps);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) createApp();
