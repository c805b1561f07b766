// The test environment of every jest project: Node's, with the test file's stdout and stderr
// held back. The product logs JSON lines (Powertools) and EMF metrics straight to process.stdout,
// so a passing pipeline test would print hundreds of them into the CI log. Held back per test,
// they are printed only under a test that failed (and what hooks outside any test wrote, only if
// some test of the file failed): a passing test prints nothing, a failing one shows what its run
// logged. jest's own console capture (console.log in a test) is untouched.
const { Writable } = require('node:stream');
const { TestEnvironment } = require('jest-environment-node');

class QuietEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    this.held = [];
    this.outsideTests = [];
    this.anyFailed = false;
    this.inTest = false;
    const hold = (chunk, _encoding, done) => {
      (this.inTest ? this.held : this.outsideTests).push(String(chunk));
      done();
    };
    // The file's own `process` is jest's copy of the real one: replacing its streams here leaves
    // jest's reporters, which write to the real ones, as they are.
    for (const name of ['stdout', 'stderr']) {
      const stream = new Writable({ write: hold });
      stream.isTTY = false;
      stream.columns = 80;
      Object.defineProperty(this.global.process, name, { value: stream, configurable: true, writable: true });
    }
  }

  async handleTestEvent(event) {
    if (event.name === 'test_start') {
      this.inTest = true;
      this.held = [];
    } else if (event.name === 'test_done') {
      this.inTest = false;
      if (event.test.errors.length > 0) {
        this.anyFailed = true;
        this.print(`what "${testName(event.test)}" logged`, this.held);
      }
      this.held = [];
    } else if (event.name === 'run_finish' && this.anyFailed) {
      this.print('what the hooks outside any test logged', this.outsideTests);
    }
  }

  print(title, chunks) {
    if (chunks.length === 0) return;
    process.stderr.write(`\n--- ${title} (${this.testPath}) ---\n${chunks.join('')}--- end ---\n`);
  }
}

function testName(test) {
  const names = [];
  for (let block = test; block && block.name !== 'ROOT_DESCRIBE_BLOCK'; block = block.parent)
    names.unshift(block.name);
  return names.join(' › ');
}

module.exports = QuietEnvironment;
