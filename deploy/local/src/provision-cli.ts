import { ConfigError, createLogger } from '@orbit/lib';
import { changedSomething, formatStep, provisionAll, readProvisionConfig } from './provision/index.js';

/** `npm run provision`: applies topics, schemas, tables, buckets and migrations; prints each. */
try {
  const config = readProvisionConfig();
  const log = createLogger({ service: 'provision', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL });
  const steps = await provisionAll(config, log, (step) => console.log(formatStep(step)));
  console.log(changedSomething(steps) ? 'provision: done' : 'provision: everything was already in place, nothing changed');
} catch (error) {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('provision failed:', error);
  process.exitCode = 1;
}
