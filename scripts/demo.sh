#!/usr/bin/env bash
# `npm run demo` will make a real film offline once the film pipeline exists (issues 5 and 7).
echo "npm run demo: the film pipeline is not built yet (produce-movie answers 501)." >&2
echo "What exists today: the task engine and local stack — try 'npm test' or 'npm run bench -- engine'." >&2
exit 1
