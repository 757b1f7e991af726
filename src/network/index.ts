// network/: what a container's network looks like from inside (/etc/hosts, /etc/hostname,
// /etc/resolv.conf), and the parts bridge networks are built from: CNI conflists and subnet
// arithmetic, name resolution (the dnsname plugin), CNI plugin calls (ADD/DEL/CHECK with a
// cached result), and named network namespaces.

export {
  type CniAttachment,
  type CniCacheEntry,
  type CniCommand,
  type CniOptions,
  CniPluginError,
  type CniResult,
  cniAdd,
  cniCheck,
  cniDel,
  DEFAULT_CNI_PLUGIN_DIRS,
  findPlugin,
  readCachedResult,
  readCacheEntry,
} from './_cni.js';
export {
  type BridgeNetworkOptions,
  bridgeConflist,
  type Cidr,
  CNI_VERSION,
  type CniConflist,
  type CniPluginConfig,
  checkIpInSubnets,
  checkNoOverlap,
  contains,
  DEFAULT_SUBNET_POOLS,
  formatCidr,
  formatIp,
  hostRoutes,
  type IpFamily,
  lastAddress,
  type MacvlanNetworkOptions,
  macvlanConflist,
  overlaps,
  parseCidr,
  parseIp,
  pickFreeSubnet,
  type ResolvedSubnet,
  resolveSubnet,
  type SubnetPool,
  type SubnetSpec,
  validateConflist,
} from './_conflist.js';
export {
  checkDnsDomain,
  DEFAULT_DNS_DOMAIN,
  DNSNAME_STATE_DIR,
  dnsArgs,
  dnsCapabilityArgs,
  dnsDelWithoutResult,
  dnsmasqPid,
  dnsStateDir,
  removeDnsState,
} from './_dns.js';
export {
  type CommandResult,
  createNetns,
  deleteNetns,
  execInNetns,
  isNetnsMounted,
  runCommand,
} from './_netns.js';
export type {
  NetworkCreateOptions,
  NetworkDriver,
  NetworkEndpoint,
  NetworkRecord,
  NetworkRequest,
  NetworkStatus,
  PortMapping,
  PortProtocol,
} from './_types.js';
export { type EtcFilesOptions, hostsFile, resolvConf, validateHostname, writeEtcFiles } from './etc.js';
