import { hash } from '@node-rs/bcrypt';

/**
 * A bcrypt hash with the given cost and version prefix, as ZoneMinder may store it ($2y$ from
 * PHP, $2b$ from its seed data, $2a$ from zmupdate.pl). The three prefixes name the same
 * algorithm for the passwords used in tests, so the prefix of a $2b$ hash is swapped.
 */
export async function bcryptHash(password: string, cost: number, version: '2a' | '2b' | '2y' = '2b'): Promise<string> {
  const hashed = await hash(password, cost);
  return `$${version}$${hashed.slice(4)}`;
}
