import { StackError } from '../errors.js';
import { dynamodbService } from './dynamodb.js';
import { kafkaService } from './kafka.js';
import { mysqlService } from './mysql.js';
import { pipelineServices } from './pipeline.js';
import { registryService } from './registry.js';
import { s3Service } from './s3.js';
import { schemaRegistryService } from './schema-registry.js';
import type { ServiceDefinition } from './types.js';

export type { ServiceDefinition, ServiceKind } from './types.js';

export function infrastructureServices(): ServiceDefinition[] {
  return [kafkaService(), schemaRegistryService(), dynamodbService(), s3Service(), mysqlService(), registryService()];
}

export { pipelineServices };

export function allServices(): ServiceDefinition[] {
  return [...infrastructureServices(), ...pipelineServices()];
}

export function serviceNamed(name: string): ServiceDefinition {
  const services = allServices();
  const found = services.find((service) => service.name === name);
  if (!found) throw new StackError('ORBIT_ERR_STACK_UNKNOWN_SERVICE', name, `unknown service; known: ${services.map((service) => service.name).join(', ')}`);
  return found;
}
