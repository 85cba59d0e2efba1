// The service as the benchmark runs it: the same runtime as src/main.ts (createRuntime from the environment), in
// its own process so the load generator does not steal its CPU. Differences from main.ts, all outside the request
// path: an ephemeral port reported over IPC, a larger listen backlog, and profiling on the parent's request.
import { loadConfig } from '../src/config.js';
import { createRuntime } from '../src/runtime.js';
import { LISTEN_BACKLOG, reportListening, serveParent } from './child-side.js';

const runtime = await createRuntime(loadConfig());
serveParent(() => runtime.close());
await runtime.app.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
const address = runtime.app.server.address();
reportListening(typeof address === 'object' && address ? address.port : 0);
