#!/usr/bin/env node
// npm run bench:queue — the queue benchmark of issue 3. Its code lives in
// src/bench/queue.ts so tsc type-checks and builds it with the modules it
// measures; this runs the built copy (npm run build first).
await import('../../dist/bench/queue.js');
