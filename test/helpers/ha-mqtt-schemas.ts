/**
 * What Home Assistant's MQTT discovery accepts for the components zmes announces with the
 * ZoneMinder API, as JSON Schemas (ajv). Written from Home Assistant's own platform schemas
 * (homeassistant/components/mqtt/image.py, button.py, with MQTT_BASE_SCHEMA and
 * MQTT_ENTITY_COMMON_SCHEMA): their keys, types and required keys. Home Assistant silently drops
 * unknown keys from a discovery config, so an unknown key here is an error: it would do nothing.
 */
import { Ajv, type ErrorObject } from 'ajv';

const availabilityEntry = {
  type: 'object',
  properties: { topic: { type: 'string' }, payload_available: { type: 'string' }, payload_not_available: { type: 'string' }, value_template: { type: 'string' } },
  required: ['topic'],
  additionalProperties: false,
};

/** MQTT_BASE_SCHEMA plus MQTT_ENTITY_COMMON_SCHEMA, and the discovery-only `origin`. */
const common = {
  qos: { enum: [0, 1, 2] },
  encoding: { type: 'string' },
  availability: { type: 'array', items: availabilityEntry },
  availability_mode: { enum: ['all', 'any', 'latest'] },
  availability_topic: { type: 'string' },
  payload_available: { type: 'string' },
  payload_not_available: { type: 'string' },
  device: { type: 'object' },
  enabled_by_default: { type: 'boolean' },
  entity_category: { enum: ['config', 'diagnostic'] },
  entity_picture: { type: 'string' },
  icon: { type: 'string', pattern: '^[a-z0-9-]+:[a-z0-9-]+$' },
  json_attributes_template: { type: 'string' },
  json_attributes_topic: { type: 'string' },
  name: { type: ['string', 'null'] },
  default_entity_id: { type: 'string' },
  unique_id: { type: 'string' },
  origin: { type: 'object', properties: { name: { type: 'string' }, sw_version: { type: 'string' }, support_url: { type: 'string' } }, required: ['name'] },
} as const;

const subscribeTopic = { type: 'string', minLength: 1 };
const publishTopic = { type: 'string', minLength: 1, not: { pattern: '[+#]' } };

export const HA_IMAGE_SCHEMA = {
  type: 'object',
  properties: {
    ...common,
    content_type: { type: 'string' },
    image_topic: subscribeTopic,
    url_topic: subscribeTopic,
    image_encoding: { const: 'b64' },
    url_template: { type: 'string' },
  },
  // "Expected one of [image_topic, url_topic]", exclusive; content_type not with url_topic.
  oneOf: [{ required: ['image_topic'], not: { required: ['url_topic'] } }, { required: ['url_topic'], not: { anyOf: [{ required: ['image_topic'] }, { required: ['content_type'] }] } }],
  additionalProperties: false,
} as const;

export const HA_BUTTON_SCHEMA = {
  type: 'object',
  properties: {
    ...common,
    command_template: { type: 'string' },
    command_topic: publishTopic,
    device_class: { enum: ['identify', 'restart', 'update', null] },
    payload_press: { type: 'string' },
    retain: { type: 'boolean' },
  },
  required: ['command_topic'],
  additionalProperties: false,
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = { image: ajv.compile(HA_IMAGE_SCHEMA), button: ajv.compile(HA_BUTTON_SCHEMA) };

/** The problems Home Assistant would find in a discovery config of `component`; empty when none. */
export function haConfigProblems(component: keyof typeof validators, config: unknown): string[] {
  const validate = validators[component];
  if (validate(config)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`);
}
