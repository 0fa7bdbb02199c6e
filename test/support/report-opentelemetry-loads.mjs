// `node --import` this: every module of @opentelemetry the process resolves is named on stderr,
// so a test can tell whether the SDK was loaded at all.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes('/@opentelemetry/')) process.stderr.write('opentelemetry module ' + result.url + '\\n');
  return result;
}`),
);
