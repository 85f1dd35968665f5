// Private MariaDB servers live with the demo, which starts one when none is running.
export * from '../../src/demo/throwaway-mariadb.js';
