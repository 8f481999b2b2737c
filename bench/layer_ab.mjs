// bench/layer_ab.sh's table: from DIR/{base,new}.I.json (qexec
// --exportProfile, run pair I), each layer's median over the pairs of its
// ratio new / base, the ratios' min-max, each binary's fastest time; then the
// same over the whole run, and, where CONTROL (a regex over layer names) picks
// layers, each group's median and the others' ratios relative to the controls'.
// usage: node layer_ab.mjs DIR PAIRS [CONTROL]
import { readFileSync } from 'node:fs';

const [dir, pairsText, controlText] = process.argv.slice(2);
const pairs = Number(pairsText);
const control = controlText ? new RegExp(controlText) : null;
const load = (name, i) =>
  new Map(JSON.parse(readFileSync(`${dir}/${name}.${i}.json`, 'utf8')).map((l) => [l.name, l.timeMs]));
const runs = Array.from({ length: pairs }, (_, i) => ({ base: load('base', i), next: load('new', i) }));
// A value's ratio new / base in each pair.
const ratios = (value) => runs.map((r) => value(r.next) / value(r.base));
const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fixed = (v, digits = 3) => v.toFixed(digits);

// Layers in the order the first run lists them; those under 1 % of the run
// (reshapes, transposes) would only add noise to the groups.
const total = (map) => [...map.values()].reduce((a, b) => a + b, 0);
const first = runs[0].base, threshold = 0.01 * total(first);
const layers = [...first.keys()].filter((name) => first.get(name) >= threshold &&
  runs.every((r) => r.base.has(name) && r.next.has(name)));
const rows = layers.map((name) => {
  const layer = ratios((run) => run.get(name));
  return { name, ratio: median(layer), low: Math.min(...layer), high: Math.max(...layer),
    base: Math.min(...runs.map((r) => r.base.get(name))), next: Math.min(...runs.map((r) => r.next.get(name))),
    control: control ? control.test(name) : false };
});
const controls = rows.filter((r) => r.control);
const reference = controls.length ? median(controls.map((r) => r.ratio)) : null;

console.log('| layer | new / base (median) | min-max | vs controls | fastest base (ms) | fastest new (ms) |');
console.log('|---|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.name}${r.control ? ' (control)' : ''} | ${fixed(r.ratio)} | ${fixed(r.low)}-${fixed(r.high)} | ` +
    `${reference && !r.control ? fixed(r.ratio / reference) : '—'} | ${fixed(r.base)} | ${fixed(r.next)} |`);
const whole = ratios(total);
console.log(`\nwhole run: new / base ${fixed(median(whole))} (${fixed(Math.min(...whole))}-${fixed(Math.max(...whole))})`);
if (reference) {
  const changed = rows.filter((r) => !r.control);
  const others = median(changed.map((r) => r.ratio));
  console.log(`controls (${controls.length} layers): median ${fixed(reference)}; the others (${changed.length}): ` +
    `median ${fixed(others)}, relative to the controls ${fixed(others / reference)}`);
}
