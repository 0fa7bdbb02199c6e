/** Microseconds since the Unix epoch. Injected wherever time matters so tests control it. */
export type Clock = () => number;

/** Wall-clock time in whole microseconds (monotonic between calls within one process, via performance.now). */
export const systemClock: Clock = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);
