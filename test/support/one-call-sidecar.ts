/** A child process for tests: starts a sidecar with the argv flags, answers one call, stops. */
import { request, startTestSidecar } from './sidecar.js';

const rg = await startTestSidecar(
  { 'p.yaml': 'domain: p\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 5 }\n' },
  process.argv.slice(2),
);
const response = await rg.call(request('p', [['k', 'v']]));
await rg.stop();
console.log(`answered ${response.overallCode}`);
