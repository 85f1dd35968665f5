// Throwaway ZoneMinder databases live with the demo, which needs them too.
export * from '../../src/demo/zm-database.js';
