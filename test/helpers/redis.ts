/**
 * Test-owned redis-server on a free loopback port (`--save '' --appendonly yes` in a temporary
 * dir): start / stop / restart (data survives) / destroy. Never touches the Redis on 6379.
 * The implementation lives in support/redisServer.ts so the farm benchmark can use it too.
 */
export { TestRedis, freePort } from '../../support/redisServer.ts';
