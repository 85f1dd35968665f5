// The schema source lives with the demo, which needs it too.
export * from '../../dev/demo/zm-schema-source.js';
