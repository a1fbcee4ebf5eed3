// Baselines for the Savina-style suite over MessagePort.postMessage, one object per message:
// - 'bounce': ping-pong and thread ring (the token crosses between two workers on every hop);
// - 'fork': fork-join throughput (the same arithmetic per job as the actors do).
import { parentPort, workerData } from 'node:worker_threads';

const { port } = workerData;

function work(x) {
  let acc = x;
  for (let i = 0; i < 50; i++) acc = Math.sqrt(acc * acc + i);
  return acc;
}

let left = 0;
let acc = 0;
parentPort.on('message', (m) => {
  if (m.start !== undefined) port.postMessage(m.start);
  if (m.expect !== undefined) left = m.expect;
});
port.on('message', (m) => {
  if (typeof m === 'number') {
    // bounce: a token with the hops still to go
    if (m === 0) parentPort.postMessage('done');
    else port.postMessage(m - 1);
    return;
  }
  acc += work(m.job);
  if (--left === 0) parentPort.postMessage('done');
});
