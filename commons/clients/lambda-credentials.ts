import { type FromEnvInit, fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * The SDK's default credential provider as the Lambda bundles have it: serverless.yml aliases
 * `@aws-sdk/credential-provider-node` to this module. Lambda gives every function its role's
 * credentials in the environment, the first link of the SDK's default chain, so a function never
 * reaches the rest (profiles, SSO, web identity, container and instance metadata, and the STS and
 * SSO clients they bring): ~135 KB of each bundle and ~25 ms of each cold start. The CLI, the
 * local runner and the tests run from source, with the whole chain.
 */
export function defaultProvider(init: FromEnvInit = {}) {
  return fromEnv(init);
}
