import type { ClientSettings } from './aws-clients';
import { type Config, getConfig } from './config';

/**
 * What a task runs with, one per process (Lambda cold start, or the local runner): the
 * configuration, and the settings every AWS client is built with. The clients themselves come
 * from commons/clients/, one module per service, each built on first use and kept for the
 * runtime's life: a function imports only the clients it calls, so its bundle holds (and its cold
 * start loads) only those SDK clients.
 */
export interface Runtime {
  readonly config: Config;
  readonly settings: ClientSettings;
}

export function createRuntime(config: Config, settings: ClientSettings): Runtime {
  return Object.freeze({ config, settings });
}

let cached: Runtime | undefined;

/** The process's runtime: configuration from the environment, credentials from the default chain. */
export function getRuntime(): Runtime {
  if (!cached) {
    const config = getConfig();
    cached = createRuntime(config, { region: config.region });
  }
  return cached;
}

/**
 * Drops the process's runtime: the next task builds a new one, with new clients and no cached
 * member-role sessions, as a new Lambda container would. For local runs that stand for a later
 * day's run (the benchmark's reconcile), never for Lambda itself.
 */
export function resetRuntime(): void {
  cached = undefined;
}

/**
 * One value per runtime, built by `build` on first use: a warm Lambda reuses its clients (and
 * their connections) across invocations, while a test's or the CLI's own runtime gets its own.
 */
export function perRuntime<T>(build: (runtime: Runtime) => T): (runtime: Runtime) => T {
  const built = new WeakMap<Runtime, T>();
  return (runtime) => {
    let value = built.get(runtime);
    if (value === undefined) {
      value = build(runtime);
      built.set(runtime, value);
    }
    return value;
  };
}
