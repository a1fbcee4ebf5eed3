// The raw ring's own limit: fixed 32-byte records (a header, no payload) (no codec, no dispatch) between two workers
// through troupe's RingProducer/RingConsumer, publishing once per 64 records, parking with Bell.
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer, RingProducer, RecordReader } from '../../dist/runtime/ring-buffer.js';
import { Bell } from '../../dist/runtime/wake.js';

const { role, ring, ctl } = workerData;
const bell = new Bell(new Int32Array(ctl), 0);

if (role === 'consumer') {
  const consumer = new RingConsumer(ring);
  const scratch = new Uint8Array(new ArrayBuffer(consumer.capacity));
  const reader = new RecordReader(scratch);
  const h = { kind: 0, priority: 0, flags: 0, target: 0, sender: 0, corr: 0, aux: 0 };
  parentPort.on('message', async ({ n }) => {
    let count = 0;
    let sum = 0;
    while (count < n) {
      const bytes = consumer.take(scratch, 64 * 1024);
      if (bytes === 0) {
        const b = bell.prepareToPark();
        if (consumer.hasData()) {
          bell.cancelPark();
          continue;
        }
        await bell.park(b);
        continue;
      }
      for (let pos = 0; pos < bytes; ) {
        pos = reader.read(pos, h);
        sum += h.aux;
        count++;
      }
    }
    parentPort.postMessage({ done: count, sum });
  });
} else {
  const producer = new RingProducer(ring);
  const payload = new Uint8Array(0);
  parentPort.on('message', async ({ n }) => {
    for (let i = 0; i < n; i++) {
      while (!producer.tryWrite(1, 0, 0, 7, 0, 0, i & 1023, payload)) {
        if (producer.publish()) bell.ring();
        await new Promise((r) => setImmediate(r));
      }
      if ((i & 63) === 63 && producer.publish()) bell.ring();
    }
    if (producer.publish()) bell.ring();
  });
}
