'use strict';
// Reference Socket.IO server for the Go client's interop tests
// (internal/socketio/interop_test.go). It loads socket.io from an npm package directory so
// the same script serves both socket.io 4.x (Engine.IO v4) and socket.io 2.x
// (Engine.IO v3).
//
// Usage: node server.js PACKAGE_DIR [PORT]
//   PACKAGE_DIR  directory whose node_modules holds socket.io (e.g. node/v4)
//   PORT         TCP port on 127.0.0.1 (also $PORT); 0 or absent = ephemeral
// Env: PING_INTERVAL, PING_TIMEOUT (ms) tune the Engine.IO heartbeat.
//
// Prints "listening PORT" on stdout once ready and exits when stdin closes.
const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
const { createRequire } = require('module');

const pkgDir = path.resolve(process.argv[2] || '.');
const port = Number(process.argv[3] || process.env.PORT || 0);
const load = createRequire(path.join(pkgDir, 'package.json'));
const createServer = load('socket.io');
const version = load('socket.io/package.json').version;

const match = fs.readFileSync(path.join(__dirname, 'match.json'), 'utf8');
const gzipped = zlib.gzipSync(Buffer.from(match, 'utf8'));

const log = (...args) => console.error(`[socket.io ${version}]`, ...args);

const httpServer = http.createServer();
const io = createServer(httpServer, {
  path: '/v5/websocket',
  serveClient: false,
  transports: ['websocket'],
  pingInterval: Number(process.env.PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.PING_TIMEOUT || 20000),
});

io.of('/cricket').on('connection', (socket) => {
  log('connected', socket.id);
  socket.on('connect_to_match', (req) => {
    if (!req || req.token !== 'good-token') {
      socket.emit('on_error', 'invalid token');
      return;
    }
    socket.emit('on_match_joined', { key: req.match_key });
    socket.emit('on_match_update', match); // JSON as text
    socket.emit('on_match_update', gzipped); // gzip as a binary attachment
    socket.emit('on_match_update', gzipped.toString('base64')); // gzip as base64 text
  });
  // Acknowledges with the arguments it was given (binary ones come back as
  // binary attachments of a BINARY_ACK).
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  // Asks the client a question that it must acknowledge, then reports the answer.
  socket.on('ask_client', () => {
    socket.emit('question', 'six times seven', (...answer) => {
      socket.emit('answer_received', answer);
    });
  });
  socket.on('kick_me', () => socket.disconnect(true));
  socket.on('disconnect', (reason) => log('disconnected', socket.id, reason));
});

httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
