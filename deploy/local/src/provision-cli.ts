import { createLogger, failPlainly, parseCommandLine } from '@orbit/lib';
import { changedSomething, formatStep, provisionAll, readProvisionConfig } from './provision/index.js';

/** `npm run provision`: applies topics, schemas, tables, buckets and migrations; prints each. */
failPlainly('provision');
// Before any variable is read: `--help` shows what the command does instead of doing it.
parseCommandLine({ options: {} }, 'npm run provision   (no options: creates or updates the Kafka topics and ACLs, schemas, DynamoDB tables, S3 buckets and MySQL migrations the environment variables point at; safe to run again)');
const config = readProvisionConfig();
const log = createLogger({ service: 'provision', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL });
const steps = await provisionAll(config, log, (step) => console.log(formatStep(step)));
console.log(changedSomething(steps) ? 'provision: done' : 'provision: everything was already in place, nothing changed');
