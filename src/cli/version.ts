declare const BERTH_VERSION: string | undefined;
/** Injected by the bundler from package.json. */
export const VERSION: string = typeof BERTH_VERSION === 'string' ? BERTH_VERSION : '0.1.0-dev';
