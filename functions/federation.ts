import { configFromEnv } from '../lib/config.ts';
import { startFederationService } from '../lib/federation/service-run.ts';

/**
 * The federation service: a long-lived process (the ECS Fargate task; bundled to dist/federation.mjs by the
 * Dockerfile). Configured by the environment the CDK construct sets (S2S_*, TLS_SECRET_ARN, HEALTH_PORT, …).
 */

// Fargate's stopTimeout is 30 s: stopping must end well within it.
const STOP_DEADLINE_MS = 25_000;

const service = await startFederationService(configFromEnv()).catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'error', msg: 'federation service failed to start', error: String(error) }));
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ level: 'info', msg: `${signal}: stopping` }));
    setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(JSON.stringify({ level: 'error', msg: 'error while stopping', error: String(error) }));
        process.exit(1);
      },
    );
  });
}
// A bug in one stream must not take the others down silently: log it; the health check decides about the task.
process.on('uncaughtException', (error) => console.error(JSON.stringify({ level: 'error', msg: 'uncaught exception', error: String(error.stack ?? error) })));
