// network/: what a container's network looks like from inside: /etc/hosts, /etc/hostname and
// /etc/resolv.conf now; netns lifecycle and CNI plugin calls come with bridge networks.

export { type EtcFilesOptions, hostsFile, resolvConf, validateHostname, writeEtcFiles } from './etc.js';
