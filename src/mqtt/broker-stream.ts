/**
 * The MQTT client over mqtt:// (TCP) or mqtts:// (TLS), nothing else. mqtt.js's own connect()
 * also registers its WebSocket, SOCKS and mini-program transports, and so loads the `ws` and
 * `socks` packages with theirs on the first connection, about 200 KB of code zmes never runs.
 * The client class takes the stream builder directly; this one behaves as mqtt.js's tcp and tls
 * builders do for the options zmes sets (see MqttConnection.connect).
 */
import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { MqttClient, type IClientOptions } from 'mqtt';

export function connectMqtt(options: IClientOptions): MqttClient {
  const host = options.host ?? 'localhost';
  const port = options.port ?? (options.protocol === 'mqtts' ? 8883 : 1883);
  const client = new MqttClient(
    (owner) => (options.protocol === 'mqtts' ? tlsStream(owner, options, host, port) : tcpConnect({ host, port })),
    options,
  );
  return client;
}

function tlsStream(client: MqttClient, options: IClientOptions, host: string, port: number) {
  const verify = options.rejectUnauthorized !== false;
  const socket = tlsConnect({
    host,
    port,
    // SNI and the certificate's name check use the host name; an IP address is checked as such.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.cert !== undefined ? { cert: options.cert } : {}),
    ...(options.key !== undefined ? { key: options.key } : {}),
    rejectUnauthorized: verify,
  });
  // A handshake that fails (unknown CA, wrong name, refused client certificate) is the client's
  // error, so the outage is logged with its reason; the client then reconnects as after any close.
  const failed = (err: Error) => {
    if (verify) client.emit('error', err);
    socket.end();
  };
  socket.on('error', failed);
  socket.on('secureConnect', () => {
    if (verify && !socket.authorized) socket.emit('error', new Error('TLS not authorized'));
    else socket.removeListener('error', failed);
  });
  return socket;
}
