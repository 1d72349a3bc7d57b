#!/usr/bin/env bash
# `npm run demo` (issue 7) is not built yet: the film pipeline exists, the demo around it does not.
echo "npm run demo: not built yet (issue 7: live progress, HTML report, browser check)." >&2
echo "The film pipeline itself runs: start the stack (npm run stack:start) and invoke produce-movie;" >&2
echo "tests/integration/produce-movie.test.ts makes a small film with the offline local providers." >&2
exit 1
