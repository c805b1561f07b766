import type { ServiceDefinition } from '../core/service';
import { cloudformationService } from './cloudformation';
import { cloudtrailService } from './cloudtrail';
import { dynamodbService } from './dynamodb';
import { iamService } from './iam';
import { organizationsService } from './organizations';
import { s3Service } from './s3';
import { secretsManagerService } from './secrets-manager';
import { snsService } from './sns';
import { stepFunctionsService } from './step-functions';
import { stsService } from './sts';

/** Every service the sandbox speaks, by SigV4 signing name. */
export const SERVICES: readonly ServiceDefinition[] = [
  organizationsService,
  stsService,
  iamService,
  cloudtrailService,
  s3Service,
  secretsManagerService,
  snsService,
  dynamodbService,
  stepFunctionsService,
  cloudformationService,
];
