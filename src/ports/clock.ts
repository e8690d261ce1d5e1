export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const CLOCK = Symbol.for('pages-reaper.Clock');
