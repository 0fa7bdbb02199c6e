/**
 * How one call of lua/token_bucket.lua reaches Redis. On Redis ≥ 7 as a function: the file is loaded
 * once as a library (FUNCTION LOAD) and called with FCALL, so its helpers and tables are made once,
 * not on every call. That cost Redis about 30% less CPU per call of one plan (bench/analysis.md,
 * "Redis Functions"). Where there are no functions (Redis < 7, FUNCTION or FCALL renamed away or
 * denied by an ACL), as a script: ioredis `defineCommand`, EVALSHA, and EVAL once after a NOSCRIPT.
 *
 * Only errors that prove the code did not run lead to a second try: "Function not found" (a Redis
 * restarted without persistence, FUNCTION FLUSH, a new cluster node) loads the library and calls
 * again, once; an unknown or forbidden FCALL switches the client to scripts for good. Any other
 * error is the caller's: the call may have counted.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';

const SCRIPT_PATH = new URL('../../../lua/token_bucket.lua', import.meta.url);
const BODY = readFileSync(SCRIPT_PATH, 'utf8');

/**
 * Named after the code, so rateguard versions that share one Redis each call their own. Libraries
 * of older versions stay until deleted (`FUNCTION DELETE rateguard_<hash>`): a few kB each.
 */
const VERSION = createHash('sha1').update(BODY).digest('hex').slice(0, 12);
export const LIBRARY_NAME = `rateguard_${VERSION}`;
export const FUNCTION_NAME = `rateguard_decide_${VERSION}`;
/**
 * The same code flagged `no-writes`, for calls that charge nothing (looks: every cost 0): Redis runs
 * it while it refuses writes (min-replicas-to-write unmet, for one), as it ran the script's reads.
 */
export const LOOK_FUNCTION_NAME = `rateguard_look_${VERSION}`;

/** The library FUNCTION LOAD takes: the file, then the registration of its entry point. */
const LIBRARY_SOURCE = [
  `#!lua name=${LIBRARY_NAME}`,
  BODY,
  `redis.register_function('${FUNCTION_NAME}', decide_call)`,
  `redis.register_function{function_name = '${LOOK_FUNCTION_NAME}', callback = decide_call, flags = { 'no-writes' }}`,
  '',
].join('\n');
/** The same code as a script. */
const SCRIPT_SOURCE = `${BODY}\nreturn decide_call(KEYS, ARGV)\n`;

const SCRIPT_COMMAND = 'rateguardDecide';

type Command = (...args: (string | number)[]) => Promise<Buffer>;

interface ClientState {
  /** False once the client is known to have no usable functions. */
  functions: boolean;
  /** The script as an ioredis command (its Buffer variant: the reply is binary). */
  script: Command;
  /** The library load in progress, shared by the calls that found the function missing. */
  loading: Promise<void> | undefined;
}

const states = new WeakMap<RedisClient, ClientState>();

/**
 * Set up once per client. The call is written at once, never through ioredis auto-pipelining, which
 * would hold it until the next event-loop turn: the batch is the pipeline (decide-batch.ts).
 */
function stateOf(client: RedisClient): ClientState {
  let state = states.get(client);
  if (state === undefined) {
    client.defineCommand(SCRIPT_COMMAND, { lua: SCRIPT_SOURCE });
    client.options.autoPipeliningIgnoredCommands = [...(client.options.autoPipeliningIgnoredCommands ?? []), SCRIPT_COMMAND, 'fcall'];
    const script = (client as unknown as Record<string, Command>)[`${SCRIPT_COMMAND}Buffer`]!.bind(client);
    state = { functions: true, script, loading: undefined };
    states.set(client, state);
  }
  return state;
}

/** Redis says there is no such function: nothing ran. */
const isMissing = (error: unknown) => error instanceof Error && /^ERR Function not found/i.test(error.message);

/** Redis has no FUNCTION / FCALL for this client (too old, renamed away, or an ACL): nothing ran. */
const isUnsupported = (error: unknown) =>
  error instanceof Error && (/^ERR unknown command [`'](fcall|function)[`']/i.test(error.message) || /^NOPERM .*'(fcall|function\|load)'/i.test(error.message));

/** Loads the library on every node that may be asked (each master of a Cluster). */
async function loadLibrary(client: RedisClient): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  await Promise.all(nodes.map((node) => node.call('function', 'load', 'replace', LIBRARY_SOURCE)));
}

export interface ScriptCallOptions {
  /** The call charges nothing (no refund, every cost 0): the `no-writes` function may run it. */
  readonly readOnly?: boolean;
  /** Told of every command written (the silence watch): the call, and a retry after a load. */
  readonly onSend?: (() => void) | undefined;
}

type Args = readonly (string | number)[];

function asScript(state: ClientState, args: Args, options: ScriptCallOptions): Promise<Buffer> {
  const reply = state.script(...args);
  options.onSend?.();
  return reply;
}

function asFunction(client: RedisClient, args: Args, options: ScriptCallOptions): Promise<Buffer> {
  const reply = client.callBuffer('fcall', options.readOnly === true ? LOOK_FUNCTION_NAME : FUNCTION_NAME, ...args) as Promise<Buffer>;
  options.onSend?.();
  return reply;
}

/** Runs the code with `args` (the key count, the keys, then the arguments: decide-script.ts). */
export async function callDecideScript(client: RedisClient, args: Args, options: ScriptCallOptions = {}): Promise<Buffer> {
  const state = stateOf(client);
  if (!state.functions) return asScript(state, args, options);
  try {
    return await asFunction(client, args, options);
  } catch (error) {
    if (isUnsupported(error)) {
      state.functions = false;
      return asScript(state, args, options);
    }
    if (!isMissing(error)) throw error;
  }
  // Nothing ran. The calls that found the library missing share one load, then call again. A Redis
  // that refuses the load (it refuses writes: min-replicas-to-write unmet) gets this call as a
  // script, as before functions: its reads still run.
  try {
    state.loading ??= loadLibrary(client).finally(() => {
      state.loading = undefined;
    });
    await state.loading;
  } catch (error) {
    if (isUnsupported(error)) state.functions = false;
    return asScript(state, args, options);
  }
  return asFunction(client, args, options);
}
