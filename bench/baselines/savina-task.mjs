// Baseline task for piscina in the fork-join workload: the same arithmetic as one actor job.
export default function job(x) {
  let acc = x;
  for (let i = 0; i < 50; i++) acc = Math.sqrt(acc * acc + i);
  return acc;
}
