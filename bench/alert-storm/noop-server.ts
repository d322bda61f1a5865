/**
 * The do-nothing baseline: a node:http server that reads each body and answers 202, measured with the same
 * load generator in the same run, so the receiver's figures read as a ratio to what this machine serves at all.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildMessage } from './config';

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{"accepted":1}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ ready: `http://127.0.0.1:${port}` } satisfies ChildMessage);
});
process.on('message', (m: { stop?: boolean }) => {
  if (m.stop) server.close(() => process.exit(0));
  server.closeAllConnections();
});
