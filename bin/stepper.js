#!/usr/bin/env node
// CommonJS (see bin/package.json), so that `report` and `status`, which load the CommonJS
// bundle in dist/quick/, start no ES module loader. Other commands import dist/ as ES modules.

// A reader that stops early (`stepper evidence | head`) closes the pipe: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') {
      process.exit(0);
    }

    throw error;
  });
}

async function run() {
  // `report` and `status` run often, from scripts too, so their plain forms skip loading
  // commander. runQuick hands back anything it does not take, and main() parses that.
  const command = process.argv[2];
  let status;
  if (command === 'report' || command === 'status') {
    const { runQuick } = require('../dist/quick/quick.cjs');
    status = await runQuick(process.argv);
  }

  if (status === undefined) {
    const { main } = await import('../dist/cli/main.js');
    status = await main(process.argv);
  }

  process.exitCode = status;
}

// An error that escapes is a bug: Node prints its stack and exits with 1, as it would for
// an uncaught exception.
run();
