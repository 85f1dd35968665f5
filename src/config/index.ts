/** The configuration API used by the rest of zmes. */
export { loadConfig, secretValues, configValue } from './load.js';
export type { CommandLineSetting, Config, ConfigFileFormat, ConfigSource, LoadOptions, LoadedConfig, OptionKey } from './load.js';
export { CommandLineError, DEFAULT_CONFIG_FILES, chooseConfigFile, parseCommandLine } from './command-line.js';
export { OPTIONS, SECTIONS, findOption, schema } from './schema.js';
export type { ClassicFlag, Leaf, OptionInfo, SectionName, Usage } from './schema.js';
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
