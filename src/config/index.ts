/** The configuration API used by the rest of zmes. */
export { loadConfig, secretValues, configValue } from './load.js';
export type { Config, ConfigSource, LoadOptions, LoadedConfig, OptionKey } from './load.js';
export { OPTIONS, SECTIONS, findOption, schema } from './schema.js';
export type { Leaf, OptionInfo, SectionName, Usage } from './schema.js';
export {
  CHANNELS,
  bindHost,
  parseChannelList,
  parseHostPort,
  parseMonitorList,
} from './formats.js';
export type { AndroidPriority, Channel, HostPort } from './formats.js';
export { maskUrlCredentials, urlCredentials } from './credentials.js';
export { renderConfig } from './print.js';
