#!/usr/bin/env node
/** The `rateguard` command: serve | validate | check | start. */
import { settingsHelp, settingsTable } from '../settings/settings.js';
import { check } from './check.js';
import { serve } from './serve.js';
import { start } from './start.js';
import { validate } from './validate.js';

/** `rateguard options`: the options table, as the README shows it. */
async function options(): Promise<number> {
  console.log(settingsTable());
  return 0;
}

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = { serve, validate, check, start, options };

const HELP = `rateguard — Envoy RLS v3 rate limit service and Express middleware

  rateguard serve [options]        run the sidecar (gRPC RLS + HTTP /healthcheck, /json, /rlconfig)
  rateguard validate PATH          check a config file or directory
  rateguard check --addr HOST:PORT --domain D --descriptor k=v[,k2=v2] [--descriptor ...] [--hits N]
  rateguard start                  the sidecar plus the demo API on PORT (default 3000)
  rateguard options                the serve options as a Markdown table

serve options (flag > environment > default):
${settingsHelp()}
`;

const [command, ...rest] = process.argv.slice(2);
const run = command === undefined ? undefined : COMMANDS[command];
if (run === undefined) {
  const asked = command === undefined || command === '--help' || command === 'help';
  (asked ? console.log : console.error)(asked ? HELP : `unknown command "${command}"\n\n${HELP}`);
  process.exitCode = asked ? 0 : 2;
} else {
  const code = await run(rest);
  if (code !== 0) process.exit(code);
}
