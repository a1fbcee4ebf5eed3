// Baseline task for piscina: the same trivial work a pool member does per message.
export default function inc(m) {
  return m.n + 1;
}
