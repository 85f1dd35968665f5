// Throwaway ZoneMinder databases live with the demo, which needs them too.
export * from '../../dev/demo/zm-database.js';
