// The wiring behind the Engine facade: the store handle, the registry client and the container
// manager, opened lazily and shared by every use-case file. Private to engine/: no front end
// ever holds one of these objects.

import { join } from 'node:path';
import { ContainerManager } from '../container/index.js';
import { NotFoundError } from '../errors/index.js';
import { fullTagName, type PullOptions, type PullResult, pullImage } from '../image/index.js';
import { NetworkStore } from '../network/index.js';
import { parseReference } from '../oci/index.js';
import { loadRegistriesConfig, RegistryClient, type RegistryClientOptions } from '../registry/index.js';
import { type ImageRecord, Store } from '../store/index.js';
import { recordImageEvent, recordManagerEvent } from './_events.js';
import { loadBerthConfig } from './config.js';

export interface EngineOptions {
  root: string;
  runroot: string;
  /** argv that runs this berth (conmon calls it back when a container exits). */
  berthCommand?: string[];
  /** Runtime for containers that name none: runc, crun, a path, or auto. */
  defaultRuntime?: string;
  authFile?: string;
  tlsVerify?: boolean;
  registriesConfig?: string;
}

/**
 * host-local's leases, shared by every berth root on the host and kept on tmpfs. Shared: roots
 * that each make a default network get the same bridge (berth0), so they must draw addresses
 * from one pool. On tmpfs: a reboot drops the namespaces, bridges and iptables rules the leases
 * belong to, so the leases must go with them (persistent ones would leak one address per
 * container that was running at the reboot).
 */
const CNI_IPAM_DIR = '/run/berth-cni/ipam';

const HEX_ID = /^(sha256:)?[0-9a-f]{3,64}$/;

export class Parts {
  readonly options: EngineOptions;
  private storeHandle: Store | undefined;
  private clientHandle: RegistryClient | undefined;
  private containerHandle: ContainerManager | undefined;
  private networkHandle: NetworkStore | undefined;

  constructor(options: EngineOptions) {
    this.options = options;
  }

  get store(): Store {
    this.storeHandle ??= Store.open(this.options.root);
    return this.storeHandle;
  }

  get registry(): RegistryClient {
    this.clientHandle ??= this.newRegistryClient();
    return this.clientHandle;
  }

  /** A client of its own (the caller closes it), e.g. with one request's credentials. */
  newRegistryClient(extra: Pick<RegistryClientOptions, 'credentials'> = {}): RegistryClient {
    return new RegistryClient({
      authFile: this.options.authFile,
      tlsVerify: this.options.tlsVerify,
      config: loadRegistriesConfig(this.options.registriesConfig),
      userAgent: 'berth/0.1',
      ...extra,
    });
  }

  get containers(): ContainerManager {
    this.containerHandle ??= new ContainerManager({
      store: this.store,
      runroot: this.options.runroot,
      berthCommand: this.options.berthCommand ?? [
        process.execPath,
        process.argv[1] ?? 'berth',
        '--root',
        this.options.root,
        '--runroot',
        this.options.runroot,
      ],
      defaultRuntime: this.options.defaultRuntime ?? loadBerthConfig().runtime ?? 'auto',
      onEvent: (e) => recordManagerEvent(this.store, e),
      networking: {
        lookup: this.networks,
        paths: {
          netnsDir: join(this.options.runroot, 'netns'),
          cacheDir: join(this.options.runroot, 'networks', 'cache'),
        },
      },
    });
    return this.containerHandle;
  }

  /** Network definitions: `<root>/networks/<name>.conflist`, IPAM leases in `<root>/networks/ipam`. */
  get networks(): NetworkStore {
    const dir = join(this.options.root, 'networks');
    this.networkHandle ??= new NetworkStore({ dir, ipamDir: CNI_IPAM_DIR });
    return this.networkHandle;
  }

  close(): void {
    this.storeHandle?.close();
    this.storeHandle = undefined;
    this.clientHandle?.close();
    this.clientHandle = undefined;
  }

  /** Find an image by name (`bb`, `localhost/x:1`), `name@digest`, or full/short ID. */
  findImage(input: string): ImageRecord | undefined {
    let ref: ReturnType<typeof parseReference> | undefined;
    try {
      ref = parseReference(input);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const byName = ref.digest
        ? this.store.findImage(`${ref.domain}/${ref.path}@${ref.digest}`)
        : this.store.findImage(fullTagName(ref));
      if (byName) return byName;
    }
    if (HEX_ID.test(input)) return this.store.findImage(input);
    if (!ref) parseReference(input); // rethrow the reference error
    return undefined;
  }

  resolveImage(input: string): ImageRecord {
    const image = this.findImage(input);
    if (!image) throw new NotFoundError(`no such image: ${input}`);
    return image;
  }

  async pull(reference: string, options: PullOptions = {}, client = this.registry): Promise<PullResult> {
    const pulled = await pullImage({ store: this.store, client }, reference, options);
    // Docker's pull event is about the reference; the image ID is in the tag events' Actor
    recordImageEvent(this.store, 'pull', pulled.reference, pulled.reference);
    return pulled;
  }
}
