import { SNSClient } from '@aws-sdk/client-sns';
import { centralClientConfig } from '../aws-clients';
import { perRuntime } from '../runtime';

/** SNS in the central account: the hand-off topic. */
export const snsClient = perRuntime((runtime) => new SNSClient(centralClientConfig(runtime.settings)));
