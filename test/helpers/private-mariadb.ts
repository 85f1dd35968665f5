// Private MariaDB servers live with the demo, which starts one when none is running.
export * from '../../dev/demo/throwaway-mariadb.js';
