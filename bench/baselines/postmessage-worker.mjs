// Baseline: worker -> worker over a MessagePort. The producer posts one object per call (or
// arrays of `batch` objects); credit-based flow control keeps at most 16,384 objects in flight,
// as the consumer acknowledges every 1,024.
import { parentPort, workerData } from 'node:worker_threads';

const { role, port } = workerData;
const WINDOW = 16_384;
const ACK_EVERY = 1024;

if (role === 'consumer') {
  // Counts are cumulative over runs: the producer's first items of a run may be handled before
  // this run's target arrives on parentPort (two ports, no order between them), so the target
  // only ever grows and nothing is reset.
  let count = 0;
  let expected = 0;
  let sum = 0;
  let sinceAck = 0;
  const checkDone = () => {
    if (count === expected) parentPort.postMessage({ done: count, sum });
  };
  parentPort.on('message', (m) => {
    expected += m.n;
    checkDone();
  });
  port.on('message', (m) => {
    const items = Array.isArray(m) ? m : [m];
    for (const item of items) sum += item.n;
    count += items.length;
    sinceAck += items.length;
    if (sinceAck >= ACK_EVERY || count === expected) {
      port.postMessage(sinceAck);
      sinceAck = 0;
    }
    checkDone();
  });
} else {
  let credit = WINDOW;
  let resume = null;
  port.on('message', (acked) => {
    credit += acked;
    if (resume) {
      const r = resume;
      resume = null;
      r();
    }
  });
  parentPort.on('message', async ({ n, batch }) => {
    for (let i = 0; i < n; ) {
      while (credit < batch) await new Promise((r) => (resume = r));
      if (batch === 1) {
        port.postMessage({ type: 'inc', n: i & 1023, id: 'abc' });
        i++;
        credit--;
      } else {
        const items = [];
        for (let k = 0; k < batch && i < n; k++, i++) items.push({ type: 'inc', n: i & 1023, id: 'abc' });
        port.postMessage(items);
        credit -= items.length;
      }
    }
  });
}
