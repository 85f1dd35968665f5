// The schema source lives with the demo, which needs it too.
export * from '../../src/demo/zm-schema-source.js';
