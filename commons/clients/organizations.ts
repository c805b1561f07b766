import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { centralClientConfig } from '../aws-clients';
import { perRuntime } from '../runtime';

/** The organization's structure; only the management account (or a delegated admin) may read it. */
export const organizationsClient = perRuntime(
  (runtime) => new OrganizationsClient(centralClientConfig(runtime.settings)),
);
