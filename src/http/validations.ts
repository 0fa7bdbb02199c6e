/**
 * The Express middleware's validations, after express-rate-limit's: checks of how the limiter is
 * set up and used that cannot fail at construction but usually mean a mistake. Each one warns
 * once per limiter, with a code and where it is explained (README.md, "Validation warnings"), and
 * each can be turned off: `validate: { trustProxy: false }`, or all of them with `validate: false`.
 * They only warn: a request is never refused because of one.
 */
import type { Request } from 'express';
import type { Logger } from '../observe/logger.js';
import type { BucketStore } from '../stores/store.js';
import { OptionError } from '../validation/option-error.js';

export const VALIDATION_CODES = {
  trustProxy: 'RG_TRUST_PROXY',
  clientAddress: 'RG_NO_CLIENT_ADDRESS',
  sharedStore: 'RG_STORE_SHARED',
  doubleCount: 'RG_DOUBLE_COUNT',
  creationStack: 'RG_CREATED_IN_HANDLER',
} as const;

export type ValidationName = keyof typeof VALIDATION_CODES;
export type ValidationCode = (typeof VALIDATION_CODES)[ValidationName];

/** `false` turns every check off; an object turns single ones off (or, with `default: false`, on). */
export type ValidateOption = boolean | ({ readonly default?: boolean } & { readonly [name in ValidationName]?: boolean });

const NAMES = Object.keys(VALIDATION_CODES) as ValidationName[];

export function helpFor(code: ValidationCode): string {
  return `README.md#${code.toLowerCase()}`;
}

function enabledChecks(option: ValidateOption | undefined): Set<ValidationName> {
  if (option === undefined || option === true) return new Set(NAMES);
  if (option === false) return new Set();
  if (typeof option !== 'object' || option === null)
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'validate', `must be a boolean or an object, got ${typeof option}`);
  for (const [name, value] of Object.entries(option)) {
    if (name !== 'default' && !NAMES.includes(name as ValidationName)) {
      throw new OptionError('RG_OPTION_UNKNOWN', `validate.${name}`, `is not a validation (known: default, ${NAMES.join(', ')})`);
    }
    if (typeof value !== 'boolean') throw new OptionError('RG_OPTION_WRONG_TYPE', `validate.${name}`, `must be a boolean, got ${typeof value}`);
  }
  const byDefault = option.default ?? true;
  return new Set(NAMES.filter((name) => option[name] ?? byDefault));
}

/** Limiters per store, by bucket namespace: two with one namespace on one store count into the same buckets. */
const namespacesOf = new WeakMap<BucketStore, Set<string>>();

/** Express 5's and Express 4's frame for a request reaching a handler. */
const IN_REQUEST_FRAMES = ['Layer.handleRequest', 'Layer.handle [as handle_request]'];

export interface ValidationsOptions {
  readonly option: ValidateOption | undefined;
  /** The limiter's name, in every warning. */
  readonly limiter: string;
  readonly logger: () => Logger;
}

export class Validations {
  private readonly enabled: Set<ValidationName>;

  constructor(private readonly options: ValidationsOptions) {
    this.enabled = enabledChecks(options.option);
  }

  /** At creation: a limiter made while a request is handled starts empty for every request. */
  creationStack(): void {
    if (!this.enabled.has('creationStack')) return;
    const { stack } = new Error('rateguard validation check');
    if (IN_REQUEST_FRAMES.some((frame) => stack?.includes(frame))) {
      this.warn(
        'creationStack',
        'the limiter was created while a request was being handled: create limiters once, when the app is set up, or each request gets a fresh limiter and nothing is limited',
      );
    }
  }

  /**
   * At creation: a store shared with another limiter of the same name and limit (and key prefix)
   * puts both limiters' counts in one bucket, so every request is counted twice.
   * `bucketNamespace` is `keyPrefix`, limit id and name together.
   */
  sharedStore(store: BucketStore, bucketNamespace: string): void {
    if (!this.enabled.has('sharedStore')) return;
    let namespaces = namespacesOf.get(store);
    if (namespaces === undefined) {
      namespaces = new Set();
      namespacesOf.set(store, namespaces);
    }
    if (namespaces.has(bucketNamespace)) {
      this.warn(
        'sharedStore',
        'another limiter with the same name, limit and keyPrefix already uses this store: both count into the same buckets. Give each limiter its own name',
      );
    }
    namespaces.add(bucketNamespace);
  }

  /** With the default identifier: `X-Forwarded-For` arrives while Express trusts no proxy, so `req.ip` is the proxy's. */
  trustProxy(req: Request): void {
    if (!this.enabled.has('trustProxy')) return;
    if (req.headers['x-forwarded-for'] !== undefined && req.app.get('trust proxy') === false) {
      this.warn(
        'trustProxy',
        "the request has an X-Forwarded-For header but Express's 'trust proxy' setting is false: req.ip is the proxy's address, so every client behind it shares one bucket. Set app.set('trust proxy', <hops>)",
      );
    }
  }

  /** The default identifier found no client address (a closed socket, an unusual transport). */
  clientAddress(address: string | undefined): void {
    if (!this.enabled.has('clientAddress') || (address !== undefined && address !== '')) return;
    this.warn(
      'clientAddress',
      'the request has no client address (req.ip is undefined): such requests share one bucket. Give an identifier (keyGenerator) that names the client',
    );
  }

  /** The same limiter met the same request again (mounted twice): it is counted once. */
  doubleCount(): void {
    if (!this.enabled.has('doubleCount')) return;
    this.warn('doubleCount', 'the limiter ran twice for one request (is it mounted twice?): the request is counted once, the second run passes it on');
  }

  /** Once per check: a check that fired is off from then on. */
  private warn(name: ValidationName, message: string): void {
    this.enabled.delete(name);
    const code = VALIDATION_CODES[name];
    this.options
      .logger()
      .warn(
        { code, limiter: this.options.limiter, help: helpFor(code) },
        `rateguard: ${message} [${code}; see ${helpFor(code)}; turn off with validate: { ${name}: false }]`,
      );
  }
}
