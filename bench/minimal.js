#!/usr/bin/env node
// Loads and attaches bench/minimal.bpf.c (the reference pair of minimal
// programs) through ebtop's addon, prints "ready", and keeps them attached
// until stdin closes or a signal: the programs go with this process.
'use strict';

const path = require('path');

const native = require(path.join(__dirname, '..', 'build', 'Release', 'ebtop_bpf.node'));
const obj = native.open(path.join(__dirname, '.output', 'minimal.bpf.o'));
native.load(obj);
native.attach(obj, 'minimal_switch');
native.attach(obj, 'minimal_wakeup');
process.stdout.write('{"ready":true}\n');
const done = () => {
  native.close(obj);
  process.exit(0);
};
process.stdin.on('end', done);
process.stdin.on('close', done);
process.stdin.resume();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, done);
