// A child process for the network store's multi-process test (run from build/):
//   node network-child.js <dir> <ipamDir> <sysClassNet> <procNet> <prefix> <count>
// creates <prefix>-0..<prefix>-<count-1>, then tries "shared" (which only one child may get),
// and prints one JSON line: { created: [{ name, subnet, bridge }], shared: 'ok' | error code }.
import { hasCode } from '../../src/errors/index.js';
import { NetworkStore } from '../../src/network/index.js';

const [dir, ipamDir, sysClassNet, procNet, prefix, count] = process.argv.slice(2);
const store = new NetworkStore({
  dir: dir!,
  ipamDir: ipamDir!,
  sysClassNet: sysClassNet!,
  procNet: procNet!,
  pools: [{ base: '10.231.0.0/16', prefix: 24 }],
});
const created: { name: string; subnet: string; bridge: string | undefined }[] = [];
store.ensureDefault();
for (let i = 0; i < Number(count); i++) {
  const n = store.create({ name: `${prefix}-${i}` });
  created.push({ name: n.name, subnet: n.subnets[0]!.subnet, bridge: n.bridge });
}
let shared = 'ok';
try {
  store.create({ name: 'shared' });
} catch (err) {
  shared = hasCode(err, 'ALREADY_EXISTS') ? 'ALREADY_EXISTS' : String(err);
}
process.stdout.write(`${JSON.stringify({ created, shared })}\n`);
