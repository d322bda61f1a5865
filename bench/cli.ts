import { InvalidArgumentError } from 'commander';

/** A commander parser for an integer option of at least `min`; anything else is refused naming the option. */
export const intOption =
  (name: string, min = 1) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be ${min === 1 ? 'a positive integer' : `an integer ≥ ${min}`}`);
    return n;
  };

/** The median the benches print: of an even count, the lower of the two middle values (a figure that was measured). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
