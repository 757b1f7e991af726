// A child process that starts attaching a container to a fake network and is killed by the test
// in the middle (run from build/):
//   node attach-child.js <netnsDir> <cacheDir> <pluginDir> <containerId>
// holds the setup guard, makes the namespace and runs ADD of the one plugin, type "orphan".
import { holdSetupGuard, type NetworkRecord, setupContainerNetwork } from '../../src/network/index.js';

const [netnsDir, cacheDir, pluginDir, containerId] = process.argv.slice(2);
const paths = { netnsDir: netnsDir!, cacheDir: cacheDir! };
const network: NetworkRecord = {
  name: 'orphan-net',
  id: 'a'.repeat(64),
  driver: 'macvlan',
  created: new Date(0).toISOString(),
  labels: {},
  options: {},
  internal: false,
  ipv6: false,
  dnsEnabled: false,
  subnets: [{ subnet: '10.231.99.0/24', gateway: '10.231.99.1' }],
  conflist: { cniVersion: '1.0.0', name: 'orphan-net', plugins: [{ type: 'orphan' }] },
};
holdSetupGuard(paths, containerId!);
const setup = await setupContainerNetwork(
  { paths, containerId: containerId!, containerName: 'orphan', cni: { pluginDirs: [pluginDir!] } },
  [{ network }],
  [],
);
await setup.attached;
process.stdout.write('attached\n');
