import { connect } from 'node:net';
import { buildApp } from './src/server/app.js';
import { loadConfig } from './src/server/config.js';
const app = await buildApp({ config: loadConfig({}), backend: 'cpu' });
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as { port: number }).port;
for (const m of ['PROPFIND /health', 'FOO /health', 'DELETE /health', 'GET /%zz']) {
  const text = await new Promise<string>((res) => { let t=''; const s = connect(port, '127.0.0.1', () => s.write(`${m} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)); s.setEncoding('latin1'); s.on('data', (c: string) => (t += c)); s.on('close', () => res(t)); });
  console.log(m, '->', text.split('\r\n')[0], text.slice(text.indexOf('\r\n\r\n') + 4));
}
await app.close();
