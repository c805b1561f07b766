import { en } from 'zod/locales';
import { config } from 'zod/mini';

/*
 * Every module that declares a schema imports this one. casbridge's schemas use zod/mini, whose
 * functions esbuild tree-shakes (zod's classic API hangs every method on every schema, ~30 ms of
 * each cold start), and which, unlike the classic API, leaves the message locale to the
 * application: casbridge's errors quote zod's English messages.
 */
config(en());
