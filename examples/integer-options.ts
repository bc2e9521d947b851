/** Command-line options of the demos: whole numbers with a default and a range. */
import { parseArgs } from 'node:util';

/** `--name value` for each entry of `spec`; a value out of range fails with a message naming it. */
export function integerOptions<K extends string>(spec: Record<K, { default: number; min: number; max: number }>): Record<K, number> {
  const names = Object.keys(spec) as K[];
  const { values } = parseArgs({
    options: Object.fromEntries(names.map((name) => [name, { type: 'string' as const, default: String(spec[name].default) }])),
  });
  const out = {} as Record<K, number>;
  for (const name of names) {
    const { min, max } = spec[name];
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name}: expected ${min} to ${max}`);
    out[name] = value;
  }
  return out;
}
