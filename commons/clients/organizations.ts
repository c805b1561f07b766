import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { centralClientConfig, retryConfig } from '../aws-clients';
import { perRuntime } from '../runtime';

/**
 * Organizations throttles every caller of the central account from one token bucket whose rate
 * AWS does not publish, and the walk keeps several listings in flight
 * (functions/resolve-targets/organization.ts). The SDK's adaptive mode slows this client's own
 * sending once it is throttled instead of only backing each request off, and ten attempts let a
 * walk of thousands of pages ride out a busy bucket: with the standard three, one page throttled
 * three times failed the whole walk (the benchmark's model: 20 reads/s, a 10,000-account
 * organization in 100 OUs, four listings at once).
 */
const WALK_ATTEMPTS = 10;

/** The organization's structure; only the management account (or a delegated admin) may read it. */
export const organizationsClient = perRuntime(
  (runtime) =>
    new OrganizationsClient({
      ...centralClientConfig(runtime.settings),
      ...retryConfig(runtime.settings, WALK_ATTEMPTS, 'adaptive'),
    }),
);
