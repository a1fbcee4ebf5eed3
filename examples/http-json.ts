// One JSON request over node:http, for the demo's load generator and driver: keep-alive sockets
// from the agent given, the status and the parsed body back. A connection refused or cut off (as
// when the service process is killed) rejects with the socket's error.

import { request, type Agent } from 'node:http';

export interface JsonResponse<T> {
  readonly status: number;
  readonly body: T;
}

export function requestJson<T>(agent: Agent, url: string, method: 'GET' | 'POST', body?: unknown): Promise<JsonResponse<T>> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method, headers }, (res) => {
      let received = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (received += chunk));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error('the response was cut off'));
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(received) as T });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}
