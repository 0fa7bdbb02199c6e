#!/usr/bin/env node
/** The `rateguard` command: serve | validate | check | start | options; `--help`/`-h` on each, `--version`. */
import { readFileSync } from 'node:fs';
import { settingsHelp, settingsTable } from '../settings/settings.js';
import { check, CHECK_USAGE } from './check.js';
import { serve } from './serve.js';
import { start } from './start.js';
import { VALIDATE_USAGE, validate } from './validate.js';

/** `rateguard options`: the options table, as the README shows it. */
async function options(): Promise<number> {
  console.log(settingsTable());
  return 0;
}

const SERVE_USAGE = `usage: rateguard serve [options]

options (flag > environment > default):
${settingsHelp()}`;

interface Command {
  readonly run: (argv: readonly string[]) => Promise<number>;
  /** One line for the overview. */
  readonly summary: string;
  /** What `rateguard COMMAND --help` prints. */
  readonly usage: () => string;
}

const COMMANDS: Record<string, Command> = {
  serve: { run: serve, summary: 'run the sidecar (gRPC RLS + HTTP /healthcheck, /json; debug port /rlconfig, /stats)', usage: () => SERVE_USAGE },
  validate: { run: validate, summary: 'check a config file or directory', usage: () => VALIDATE_USAGE },
  check: { run: check, summary: 'one ShouldRateLimit call, the answer as proto3 JSON', usage: () => CHECK_USAGE },
  start: {
    run: start,
    summary: 'the sidecar plus the demo API on PORT (default 3000)',
    usage: () => `usage: rateguard start [serve options]\n\n${SERVE_USAGE}`,
  },
  options: { run: options, summary: 'the serve options as a Markdown table', usage: () => 'usage: rateguard options' },
};

const help = () => `rateguard — Envoy RLS v3 rate limit service and Express middleware

${Object.entries(COMMANDS)
  .map(([name, c]) => `  rateguard ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

  rateguard COMMAND --help   that command's options;  rateguard --version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const HELP_FLAGS = new Set(['--help', '-h', 'help']);
const [name, ...rest] = process.argv.slice(2);
const command = name === undefined ? undefined : COMMANDS[name];
if (name === '--version' || name === '-V') {
  console.log(version());
} else if (command === undefined) {
  const asked = name === undefined || HELP_FLAGS.has(name);
  (asked ? console.log : console.error)(asked ? help() : `unknown command "${name}"\n\n${help()}`);
  process.exitCode = asked ? 0 : 2;
} else if (rest.some((arg) => HELP_FLAGS.has(arg) && arg !== 'help')) {
  console.log(command.usage());
} else {
  const code = await command.run(rest);
  if (code !== 0) process.exit(code);
}
