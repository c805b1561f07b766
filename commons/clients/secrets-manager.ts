import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { centralClientConfig } from '../aws-clients';
import { perRuntime } from '../runtime';

/** Secrets Manager in the central account: the connector secrets. */
export const secretsManagerClient = perRuntime(
  (runtime) => new SecretsManagerClient(centralClientConfig(runtime.settings)),
);
