// Child process for driver.test.ts: creates and starts a container, prints conmon's pid, and
// returns from main without process.exit, so the test also shows berth is not held by conmon.
import { RuntimeDriver } from './driver.js';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const { runtime, runtimeRoot, id, opts } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const driver = new RuntimeDriver({ runtime, runtimeRoot });
const { pid, conmonPid } = await driver.create(id, opts);
await driver.start(id);
process.stdout.write(JSON.stringify({ pid, conmonPid }));
